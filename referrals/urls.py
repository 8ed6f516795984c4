from django.urls import path

from referrals import views

urlpatterns = [
    path("", views.referral_list, name="referral_list"),
    path("<int:pk>/", views.referral_detail, name="referral_detail"),
    path("<int:pk>/summary/", views.referral_summary, name="referral_summary"),
    path("<int:pk>/transition/", views.referral_transition, name="referral_transition"),
    path("<int:pk>/consent/", views.referral_consent, name="referral_consent"),
    path("<int:pk>/items/", views.item_add, name="referral_item_add"),
    path("<int:pk>/items/<int:item_id>/", views.item_update, name="referral_item_update"),
]

# Under /cases/: a referral is drafted from its case's page.
case_urlpatterns = [
    path("<int:case_pk>/referrals/new/", views.referral_new, name="referral_new"),
]

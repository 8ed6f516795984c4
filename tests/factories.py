import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Organisation, User
from accounts.roles import Role

PASSWORD = "correct horse battery staple"


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Helpline {n}")
    country = "IT"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user-{n}")
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.WORKER
    is_staff = factory.LazyAttribute(lambda o: o.role == Role.ADMINISTRATOR)
    password = factory.django.Password(PASSWORD)


class TOTPDeviceFactory(factory.django.DjangoModelFactory[TOTPDevice]):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "authenticator"
    confirmed = True

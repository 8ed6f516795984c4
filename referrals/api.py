from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import BooleanField, ExpressionWrapper, QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.api import (
    CanWorkCases,
    CodeField,
    DateTimeCursorPagination,
    as_api_error,
    move_field,
    spans,
    term_field,
    text_decision_field,
)
from cases.models import Case, Vocabulary
from cases.selectors import cases_visible_to
from cases.services import IdentifiersFound
from helpline import gate
from referrals import services
from referrals.models import Agency, Outcome, Referral, ReferralStatus, TakedownItem
from referrals.selectors import (
    agencies_offered_to,
    agencies_visible_to,
    agency_offered,
    referral_for_user,
    referrals_visible_to,
)


class AgencySerializer(serializers.ModelSerializer[Agency]):
    active = serializers.BooleanField(
        source="offered",
        read_only=True,
        help_text="Offered for a new referral; false: deactivated, or hidden by your organisation.",
    )

    class Meta:
        model = Agency
        fields = ["id", "code", "name", "kind", "country", "expected_response_days", "contact_notes", "active"]


class AgencyCodeField(CodeField[Agency]):
    """An agency by its code, among those offered to the requesting organisation: any other "does not exist"."""

    def get_queryset(self) -> QuerySet[Agency]:
        user = getattr(self.context.get("request"), "user", None)
        if user is None or not user.is_authenticated:
            return Agency.objects.none()
        return agencies_offered_to(user.organisation_id)


class ItemSerializer(serializers.ModelSerializer[TakedownItem]):
    platform = term_field(Vocabulary.PLATFORM)

    class Meta:
        model = TakedownItem
        fields = ["id", "platform", "link", "content_type", "status", "removed_at", "created_at"]
        read_only_fields = ["removed_at", "created_at"]


class VisibleCaseField(serializers.PrimaryKeyRelatedField[Case]):
    """A case by id, among the cases the requesting user may open; any other id is "does not exist"."""

    def get_queryset(self) -> QuerySet[Case]:
        return cases_visible_to(self.context["request"].user)


class ReferralSerializer(serializers.ModelSerializer[Referral]):
    case = VisibleCaseField()
    agency = AgencyCodeField(slug_field="code", queryset=Agency.objects.all())
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)  # type: ignore[var-annotated]
    case_reference = serializers.CharField(source="case.reference", read_only=True)
    # Declared so that the schema admits the blank outcome of a referral not finished yet.
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True, read_only=True)
    text_decision = text_decision_field(write_only=True)
    move = move_field()

    class Meta:
        model = Referral
        fields = [
            "id",
            "case",
            "case_reference",
            "kind",
            "agency",
            "status",
            "outcome",
            "consent",
            "consent_reason",
            "external_reference",
            "follow_up_on",
            "owner",
            "created_at",
            "sent_at",
            "acknowledged_at",
            "closed_at",
            "text_decision",
            "move",
        ]
        read_only_fields = ["status", "outcome", "created_at", "sent_at", "acknowledged_at", "closed_at"]


class TransitionSerializer(serializers.Serializer[Any]):
    to = serializers.ChoiceField(choices=ReferralStatus.choices)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, default="")
    external_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    note = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
    text_decision = text_decision_field()
    move = move_field()


class ReferralListFilters(serializers.Serializer[Any]):
    """The list's query parameters: a value outside them is a 400 naming the parameter, not a filter ignored."""

    mine = serializers.BooleanField(required=False)
    status = serializers.ChoiceField(choices=ReferralStatus.choices, required=False)
    agency = serializers.CharField(required=False)


class ReferralPagination(DateTimeCursorPagination):
    page_size = 50
    ordering = ("-created_at", "-id")


class ReferralViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Referral]
):
    serializer_class = ReferralSerializer
    permission_classes = [IsAuthenticated, CanWorkCases]
    pagination_class = ReferralPagination

    def get_queryset(self) -> QuerySet[Referral]:
        queryset = referrals_visible_to(self.request.user).select_related("case", "agency", "owner")
        filters = ReferralListFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        if wanted.get("mine"):
            queryset = queryset.filter(owner_id=self.request.user.pk)
        if wanted.get("status"):
            queryset = queryset.filter(status=wanted["status"])
        if wanted.get("agency"):
            queryset = queryset.filter(agency__code=wanted["agency"])
        return queryset.order_by("-created_at", "-id")

    def get_object(self) -> Referral:
        referral = referral_for_user(self.request, self.kwargs["pk"])
        gate.read(self.request, referral)
        return referral

    @extend_schema(
        summary="Referrals of your organisation's cases",
        parameters=[
            OpenApiParameter("mine", bool, description="Only the referrals you own."),
            OpenApiParameter("status", str, enum=ReferralStatus.values),
            OpenApiParameter("agency", str, description="Agency code, as in the agency catalogue."),
        ],
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        gate.read(request, object_type="referrals.referral", query=request.GET.urlencode())
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Draft a referral of a case",
        examples=[
            OpenApiExample(
                "Police report",
                value={"case": 42, "kind": "police", "agency": "polizia_postale", "consent": "guardian"},
                request_only=True,
            )
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {**serializer.validated_data, "move": spans(serializer.validated_data)}
        try:
            referral = services.referral_create(actor=gate.signed_in_user(request), request=request, **data)
        except (DjangoValidationError, IdentifiersFound) as error:
            raise as_api_error(error) from error
        return Response(self.get_serializer(referral).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Move a referral to its next status",
        description="Allowed moves: draft → sent or withdrawn; sent → acknowledged, in progress, completed, "
        "declined or withdrawn; acknowledged → in progress, completed, declined or withdrawn; in progress → "
        "completed, declined or withdrawn. Sending needs consent; completing needs an outcome of the kind.",
        request=TransitionSerializer,
        responses=ReferralSerializer,
        examples=[OpenApiExample("Acknowledged", value={"to": "acknowledged", "external_reference": "PP/2026/42"})],
    )
    @action(detail=True, methods=["post"], serializer_class=TransitionSerializer)
    def transition(self, request: Request, pk: str) -> Response:
        referral = referral_for_user(request, pk)
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            data = {**serializer.validated_data, "move": spans(serializer.validated_data)}
            referral = services.referral_transition(
                actor=gate.signed_in_user(request), referral=referral, request=request, **data
            )
        except (DjangoValidationError, IdentifiersFound) as error:
            raise as_api_error(error) from error
        return Response(ReferralSerializer(referral, context=self.get_serializer_context()).data)

    @extend_schema(
        methods=["GET"], summary="Content a takedown referral asks to remove", responses=ItemSerializer(many=True)
    )
    @extend_schema(
        methods=["POST"],
        summary="Add content to remove",
        request=ItemSerializer,
        responses={201: ItemSerializer},
        examples=[
            OpenApiExample(
                "An image",
                value={"platform": "instagram", "link": "https://instagram.com/p/abc", "content_type": "image"},
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["get", "post"], serializer_class=ItemSerializer, pagination_class=None)
    def items(self, request: Request, pk: str) -> Response:
        referral = referral_for_user(request, pk)
        if request.method == "GET":
            gate.read(request, referral, part="items")
            return Response(ItemSerializer(referral.items.all(), many=True).data)
        serializer = ItemSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            if data.get("status", "requested") != "requested":
                raise DjangoValidationError({"status": ["New content starts as requested."]})
            item = services.takedown_item_add(
                actor=gate.signed_in_user(request),
                referral=referral,
                platform=data["platform"],
                link=data["link"],
                content_type=data["content_type"],
                request=request,
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return Response(ItemSerializer(item).data, status=status.HTTP_201_CREATED)


class AgenciesView(APIView):
    @extend_schema(
        summary="The agency catalogue",
        description="The shared agencies and your organisation's own; shared agencies it hides are listed as inactive.",
        responses=AgencySerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        user = gate.signed_in_user(request)
        offered = ExpressionWrapper(agency_offered(user.organisation_id), output_field=BooleanField())
        agencies = agencies_visible_to(user.organisation_id).annotate(offered=offered)
        return Response(AgencySerializer(agencies, many=True).data)

from functools import partial
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import services
from cases.filters import CaseFilter, cursor_position
from cases.models import (
    Case,
    CasePlatform,
    ClosureRequest,
    Contact,
    IdempotencyKey,
    Note,
    PlatformRole,
    ResponseStep,
    Status,
    StepStatus,
    StepType,
    Term,
    Vocabulary,
)
from cases.selectors import case_for_user, cases_visible_to, terms_offered_to, terms_visible_to
from helpline import gate

_M = TypeVar("_M", bound=Model)


class CodeField(serializers.SlugRelatedField[_M]):
    """An object named by its code. A NUL is refused before the lookup: PostgreSQL text cannot hold one."""

    def to_internal_value(self, data: Any) -> _M:
        ProhibitNullCharactersValidator()(data)
        return super().to_internal_value(data)


class TermCodeField(CodeField[Term]):
    """A taxonomy term as its code, written out from one lookup of all terms per request, not a join per field.

    Read among the shared terms and the requesting organisation's own: another organisation's code "does not exist".
    """

    def get_queryset(self) -> QuerySet[Term]:
        user = getattr(self.context.get("request"), "user", None)
        if user is None or not user.is_authenticated:
            return Term.objects.none()
        vocabulary = super().get_queryset()
        assert vocabulary is not None  # a writable field always has its vocabulary's terms
        return vocabulary & terms_visible_to(user.organisation_id)

    def use_pk_only_optimization(self) -> bool:
        return True

    def to_representation(self, obj: Any) -> str:
        context: dict[str, Any] = self.context  # type: ignore[assignment]
        if "term_codes" not in context:
            context["term_codes"] = dict(Term.objects.values_list("pk", "code"))
        return str(context["term_codes"][obj.pk])


def term_field(vocabulary: str, **kwargs: Any) -> TermCodeField:
    # Deactivated terms are accepted here; the service takes them only where a case already has them.
    return TermCodeField(slug_field="code", queryset=Term.objects.filter(vocabulary=vocabulary), **kwargs)


class PlatformSerializer(serializers.Serializer[CasePlatform]):
    platform = term_field(Vocabulary.PLATFORM)
    role = serializers.ChoiceField(choices=PlatformRole.choices)


class SpanSerializer(serializers.Serializer[Any]):
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=0)


def text_decision_field(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=["redact", "keep", "move"],
        required=False,
        help_text="When the text holds phone numbers, e-mail addresses or similar (a 400 answer lists their kinds "
        "and spans in identifiers_found): remove them (redact), keep the text as written (keep), or move the ones "
        "that can be the offender's to the case's offender identifiers and remove the rest (move). "
        "Without it such text is refused.",
        **kwargs,
    )


def move_field() -> serializers.ListField:
    return serializers.ListField(
        child=SpanSerializer(),
        required=False,
        write_only=True,
        max_length=100,
        help_text="Spans (start, end) from identifiers_found, of findings with offender_candidate true, to add to "
        "the case's offender identifiers; they leave the text. The other findings are removed (redact, move) or "
        "kept (keep); move without spans moves every offender candidate. A span not found in the text is refused.",
    )


def spans(data: dict[str, Any]) -> list[tuple[int, int]]:
    return [(span["start"], span["end"]) for span in data.get("move") or []]


class CaseSerializer(serializers.ModelSerializer[Case]):
    channel = term_field(Vocabulary.CHANNEL, required=False, allow_null=True)
    reporter_type = term_field(Vocabulary.REPORTER_TYPE, required=False, allow_null=True)
    sextortion_type = term_field(Vocabulary.SEXTORTION_TYPE, required=False, allow_null=True)
    payment_method = term_field(Vocabulary.PAYMENT_METHOD, required=False, allow_null=True)
    approaches = term_field(Vocabulary.APPROACH, many=True, required=False)
    content_types = term_field(Vocabulary.CONTENT_TYPE, many=True, required=False)
    demands = term_field(Vocabulary.DEMAND, many=True, required=False)
    threats = term_field(Vocabulary.THREAT, many=True, required=False)
    platforms = PlatformSerializer(many=True, required=False)
    closure_reason = TermCodeField(slug_field="code", read_only=True, allow_null=True)
    assigned_to: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    risk_flags = serializers.ListField(child=serializers.CharField(), read_only=True)
    version = serializers.IntegerField(required=False, help_text="Required on update: the version you read.")
    text_decision = text_decision_field(write_only=True)
    move = move_field()

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "status",
            "closure_reason",
            "closed_at",
            "assigned_to",
            "risk_level",
            "self_harm",
            "immediate_danger",
            "risk_flags",
            "first_contact_at",
            "channel",
            "reporter_type",
            *[
                f
                for f in services.SCALAR_FACTS
                if f not in ("first_contact_at", "risk_level", "self_harm", "immediate_danger")
            ],
            "approaches",
            "content_types",
            "sextortion_type",
            "demands",
            "threats",
            "payment_method",
            "platforms",
            "text_decision",
            "move",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["reference", "status", "closed_at", "created_at", "updated_at"]
        extra_kwargs = {"first_contact_at": {"required": False}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            # A case holds only these facts; anything else (a name, say) must not be sent at all.
            raise ValidationError({field: ["Not a field of a case."] for field in unknown})
        return attrs

    def split(
        self, data: dict[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[Term, str]] | None, str | None, list[tuple[int, int]]]:
        data = dict(data)
        move = spans(data)
        data.pop("move", None)
        platforms = data.pop("platforms", None)
        decision = data.pop("text_decision", None)
        data.pop("version", None)
        pairs = None if platforms is None else [(p["platform"], p["role"]) for p in platforms]
        return data, pairs, decision, move


class CaseSummarySerializer(serializers.ModelSerializer[Case]):
    """A case in a list: enough to find it; the whole case is one request away."""

    sextortion_type = TermCodeField(slug_field="code", read_only=True, allow_null=True)
    assigned_to: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    platforms = PlatformSerializer(many=True, read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "status",
            "risk_level",
            "first_contact_at",
            "assigned_to",
            "sextortion_type",
            "platforms",
            "version",
            "updated_at",
        ]
        read_only_fields = fields


CASE_EXAMPLE = {
    "risk_level": "high",
    "self_harm": False,
    "first_contact_at": "2026-11-20T21:40:00+01:00",
    "channel": "chat",
    "reporter_type": "victim",
    "victim_age": 15,
    "victim_gender": "male",
    "victim_country": "IT",
    "victim_region": "IT-RM",
    "sextortion_type": "financial",
    "approaches": ["fake_romance"],
    "content_types": ["self_image"],
    "demands": ["money"],
    "threats": ["friends", "family"],
    "victim_paid": "yes",
    "amount_band": "50_249",
    "payment_method": "gift_card",
    "platforms": [{"platform": "instagram", "role": "first_contact"}, {"platform": "snapchat", "role": "threats"}],
}


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "stale_version"


class ClosureApprovalRequired(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "closure_approval_required"


class TextHoldsIdentifiers(ValidationError):
    """A 400 whose identifiers_found keeps its numbers and booleans (a ValidationError turns them into text)."""

    def __init__(self, detail: dict[str, list[str]], found: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.detail = {**self.detail, "identifiers_found": found}  # type: ignore[dict-item]


def as_api_error(error: Exception) -> APIException:
    if isinstance(error, services.StaleVersion):
        return Conflict(str(error))
    if isinstance(error, services.ClosureNeedsApproval):
        return ClosureApprovalRequired({"status": [error.message_text]})
    if isinstance(error, services.IdentifiersFound):
        # Kinds and places only: the answer, like the logs, never repeats the text.
        found = [
            {
                "kind": f.kind,
                "label": f.label,
                "start": f.start,
                "end": f.end,
                "offender_candidate": f.offender_candidate,
            }
            for f in error.findings
        ]
        return TextHoldsIdentifiers({error.field: [str(error)]}, found)
    if isinstance(error, DjangoValidationError):
        return ValidationError(error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages})
    raise error


STALE_OR_NEEDS_APPROVAL = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="stale_version: the case changed since you read it (detail). closure_approval_required: "
    "this closure needs a supervisor (status).",
)


# A part of one case (its contacts, steps, notes, closure requests): the whole list, unpaginated, and none of
# the case list's filters, which the schema would otherwise offer on it.
case_part = partial(action, detail=True, pagination_class=None, filter_backends=[])


# Only roles that work on cases reach any case endpoint; analysts and administrators get a 403.
CanWorkCases = gate.api_permission("cases.view_case", object_type="cases.case")


class DateTimeCursorPagination(CursorPagination):
    """Cursor paging on a date and time; a cursor the API did not hand out is a 400 naming the parameter.

    DRF checks the cursor's shape (a 404) and passes its position to the query unread, where an impossible date
    fails; here both are refused before any query.
    """

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                # Written as DRF writes the rows' values, which it compares it with (text: the stubs say int).
                position = str(cursor_position(str(cursor.position)))
                cursor = cursor._replace(position=position)  # type: ignore[arg-type]
        except (NotFound, ValueError):
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from None
        return cursor


class CasePagination(DateTimeCursorPagination):
    page_size = 50
    ordering = ("-first_contact_at", "-id")


class ContactSerializer(serializers.ModelSerializer[Contact]):
    channel = term_field(Vocabulary.CHANNEL)
    worker: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "at", "channel", "contact_type", "duration_minutes", "worker"]


class StepSerializer(serializers.ModelSerializer[ResponseStep]):
    step: serializers.SlugRelatedField[StepType] = serializers.SlugRelatedField(
        source="step_type", slug_field="code", read_only=True
    )
    label = serializers.CharField(source="step_type.label", read_only=True)  # type: ignore[assignment]
    done_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    status = serializers.ChoiceField(choices=StepStatus.choices)

    class Meta:
        model = ResponseStep
        fields = ["id", "step", "label", "status", "due_at", "done_by", "done_at", "reason"]
        read_only_fields = ["done_at", "reason"]


class StatusChangeSerializer(serializers.Serializer[Case]):
    """The status part of a case update: closing needs the reason, and a supervisor for high and critical cases."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    closure_reason = term_field(Vocabulary.CLOSURE_REASON, required=False, allow_null=True)


class ClosureRequestSerializer(serializers.ModelSerializer[ClosureRequest]):
    closure_reason = term_field(Vocabulary.CLOSURE_REASON)
    requested_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    decided_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    text_decision = text_decision_field(write_only=True)
    move = move_field()

    class Meta:
        model = ClosureRequest
        fields = [
            "id",
            "status",
            "closure_reason",
            "comment",
            "risk_level",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_comment",
            "text_decision",
            "move",
        ]
        read_only_fields = ["status", "risk_level", "requested_at", "decided_at", "decision_comment"]
        extra_kwargs = {"comment": {"max_length": services.COMMENT_LIMIT}}


class ClosureDecisionSerializer(serializers.Serializer[ClosureRequest]):
    decision = serializers.ChoiceField(
        choices=["approve", "send_back", "withdraw"],
        help_text="approve or send_back: supervisors; withdraw: anyone working on the case.",
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=services.COMMENT_LIMIT, help_text="Required to send back."
    )
    text_decision = text_decision_field()
    move = move_field()


class NoteSerializer(serializers.ModelSerializer[Note]):
    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="username", read_only=True)
    text_decision = text_decision_field(write_only=True)
    move = move_field()

    class Meta:
        model = Note
        fields = ["id", "text", "author", "created_at", "identifiers_kept", "text_decision", "move"]
        read_only_fields = ["created_at", "identifiers_kept"]


@extend_schema_view(
    list=extend_schema(
        summary="Cases of your organisation",
        description="Newest first, a summary of each; filters as on the case list. Retrieve a case for all its facts.",
    ),
    retrieve=extend_schema(summary="One case"),
    create=extend_schema(
        summary="Open a case",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Any unique string; a retry with the same key returns the case the first request made.",
            )
        ],
        examples=[OpenApiExample("Financial sextortion on Instagram", value=CASE_EXAMPLE, request_only=True)],
        responses={
            201: CaseSerializer,
            200: OpenApiResponse(CaseSerializer, description="A retry with the same Idempotency-Key: the case made."),
        },
    ),
    update=extend_schema(
        summary="Replace the facts of a case (send the version you read)",
        responses={200: CaseSerializer, 409: STALE_OR_NEEDS_APPROVAL},
    ),
    partial_update=extend_schema(
        summary="Change some facts of a case (send the version you read)",
        responses={200: CaseSerializer, 409: STALE_OR_NEEDS_APPROVAL},
        description="Send status (and closure_reason when closing) to move the case along its lifecycle. "
        "A worker closing a high or critical case, or one whose closure request is waiting, gets 409 "
        "closure_approval_required: request closure at closure-requests/ instead.",
        examples=[
            OpenApiExample("Raise the risk", value={"version": 3, "risk_level": "critical"}, request_only=True),
            OpenApiExample(
                "Close", value={"version": 4, "status": "closed", "closure_reason": "resolved"}, request_only=True
            ),
        ],
    ),
)
class CaseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Case],
):
    serializer_class = CaseSerializer
    permission_classes = [IsAuthenticated, CanWorkCases]
    pagination_class = CasePagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseFilter

    def get_serializer_class(self) -> Any:
        return CaseSummarySerializer if self.action == "list" else CaseSerializer

    def filter_queryset(self, queryset: Any) -> Any:
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            return queryset.select_related("assigned_to").prefetch_related("platforms")
        return queryset

    def get_queryset(self) -> QuerySet[Case]:
        if self.action == "list":
            return cases_visible_to(self.request.user)
        return (
            cases_visible_to(self.request.user)
            .select_related("assigned_to")
            .prefetch_related("approaches", "content_types", "demands", "threats", "platforms")
        )

    def get_object(self) -> Case:
        case = case_for_user(self.request, self.kwargs["pk"])
        return self.get_queryset().get(pk=case.pk)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        gate.read(request, object_type="cases.case", query=request.GET.urlencode())
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case = self.get_object()
        gate.read(request, case)
        return Response(self.get_serializer(case).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = gate.signed_in_user(request)
        key = request.headers.get("Idempotency-Key", "").strip()[:200]
        if "\x00" in key:
            raise ValidationError({"Idempotency-Key": [ProhibitNullCharactersValidator.message]})
        if key:
            earlier = IdempotencyKey.objects.filter(user=user, key=key).first()
            if earlier is not None:
                return self._replay(request, earlier)
        serializer = CaseSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        facts, platforms, decision, move = serializer.split(serializer.validated_data)
        try:
            with transaction.atomic():
                case = services.case_open(
                    actor=gate.signed_in_user(request),
                    facts=facts,
                    platforms=platforms or (),
                    text_decision=decision,
                    move=move,
                    request=request,
                )
                if key:
                    IdempotencyKey.objects.create(user=user, key=key, case=case)
        except IntegrityError:
            # The same key arrived twice at once: the other request made the case.
            return self._replay(request, IdempotencyKey.objects.get(user=user, key=key))
        except (DjangoValidationError, services.IdentifiersFound) as error:
            raise as_api_error(error) from error
        return Response(self.get_serializer(self.get_queryset().get(pk=case.pk)).data, status=status.HTTP_201_CREATED)

    def _replay(self, request: Request, earlier: IdempotencyKey) -> Response:
        case = self.get_queryset().get(pk=earlier.case_id)
        gate.read(request, case, idempotent_replay=True)
        return Response(self.get_serializer(case).data)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case = self.get_object()
        partial = kwargs.pop("partial", False)
        serializer = CaseSerializer(case, data=request.data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        if "version" not in serializer.validated_data:
            raise ValidationError({"version": ["Send the version of the case you read, to detect concurrent edits."]})
        facts, platforms, decision, move = serializer.split(serializer.validated_data)
        sent: Any = request.data
        change = StatusChangeSerializer(
            data={field: sent[field] for field in ("status", "closure_reason") if field in sent},
            context=self.get_serializer_context(),
        )
        change.is_valid(raise_exception=True)
        new_status = change.validated_data.get("status")
        if new_status == case.status:
            new_status = None  # a whole case sent back unchanged is not a move
        version = serializer.validated_data["version"]
        try:
            with transaction.atomic():  # a refused move saves none of the facts sent with it
                if facts or platforms is not None or new_status is None:
                    case = services.case_update(
                        actor=gate.signed_in_user(request),
                        case=case,
                        version=version,
                        facts=facts,
                        platforms=platforms,
                        text_decision=decision,
                        move=move,
                        request=request,
                    )
                    version = case.version
                if new_status is not None:
                    case = services.case_set_status(
                        actor=gate.signed_in_user(request),
                        case=case,
                        status=new_status,
                        closure_reason=change.validated_data.get("closure_reason"),
                        version=version,
                        request=request,
                    )
        except (DjangoValidationError, services.IdentifiersFound, services.StaleVersion) as error:
            raise as_api_error(error) from error
        return Response(self.get_serializer(self.get_queryset().get(pk=case.pk)).data)

    @extend_schema(methods=["GET"], summary="Contacts of a case", responses=ContactSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        summary="Record a contact",
        request=ContactSerializer,
        responses={201: ContactSerializer},
        examples=[
            OpenApiExample(
                "A follow-up call",
                value={
                    "at": "2026-11-21T18:05:00+01:00",
                    "channel": "phone",
                    "contact_type": "counselling",
                    "duration_minutes": 25,
                },
                request_only=True,
            )
        ],
    )
    @case_part(methods=["get", "post"], serializer_class=ContactSerializer)
    def contacts(self, request: Request, pk: str) -> Response:
        case = case_for_user(request, pk)
        if request.method == "GET":
            gate.read(request, case, part="contacts")
            contacts = case.contacts.select_related("channel", "worker")
            return Response(ContactSerializer(contacts, many=True).data)
        serializer = ContactSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            contact = services.contact_add(
                actor=gate.signed_in_user(request), case=case, request=request, **serializer.validated_data
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Response steps of a case", responses=StepSerializer(many=True))
    @case_part(methods=["get"], serializer_class=StepSerializer)
    def steps(self, request: Request, pk: str) -> Response:
        case = case_for_user(request, pk)
        gate.read(request, case, part="steps")
        steps = case.steps.select_related("step_type", "done_by")
        return Response(StepSerializer(steps, many=True).data)

    @extend_schema(
        summary="Update a response step",
        request=StepSerializer,
        responses=StepSerializer,
        examples=[OpenApiExample("Mark done", value={"status": "done"}, request_only=True)],
    )
    @action(detail=True, methods=["patch"], url_path=r"steps/(?P<step_id>\d+)", serializer_class=StepSerializer)
    def step(self, request: Request, pk: str, step_id: str) -> Response:
        case = case_for_user(request, pk)
        step = case.steps.filter(pk=step_id).first()
        if step is None:
            raise ValidationError({"step_id": ["No such step on this case."]})
        serializer = StepSerializer(step, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            step = services.step_update(
                actor=gate.signed_in_user(request),
                step=step,
                status=serializer.validated_data.get("status", step.status),
                due_at=serializer.validated_data.get("due_at"),
                request=request,
            )
        except DjangoValidationError as error:
            raise as_api_error(error) from error
        return Response(StepSerializer(step).data)

    @extend_schema(methods=["GET"], summary="Notes of a case", responses=NoteSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        summary="Add a note",
        request=NoteSerializer,
        responses={201: NoteSerializer},
        examples=[OpenApiExample("A note", value={"text": "Called back, victim feels safer."}, request_only=True)],
    )
    @case_part(methods=["get", "post"], serializer_class=NoteSerializer)
    def notes(self, request: Request, pk: str) -> Response:
        case = case_for_user(request, pk)
        if request.method == "GET":
            gate.read(request, case, part="notes")
            return Response(NoteSerializer(case.notes.select_related("author"), many=True).data)
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            note = services.note_add(
                actor=gate.signed_in_user(request),
                case=case,
                text=serializer.validated_data["text"],
                text_decision=serializer.validated_data.get("text_decision"),
                move=spans(serializer.validated_data),
                request=request,
            )
        except (DjangoValidationError, services.IdentifiersFound) as error:
            raise as_api_error(error) from error
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], summary="Closure requests of a case", responses=ClosureRequestSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        summary="Request closure of a high or critical case",
        description="One request waits per case; a supervisor approves it (the case closes with this reason) "
        "or sends it back with a comment.",
        request=ClosureRequestSerializer,
        responses={201: ClosureRequestSerializer},
        examples=[
            OpenApiExample(
                "Resolved",
                value={"closure_reason": "resolved", "comment": "Content removed, victim safe."},
                request_only=True,
            )
        ],
    )
    @case_part(methods=["get", "post"], url_path="closure-requests", serializer_class=ClosureRequestSerializer)
    def closure_requests(self, request: Request, pk: str) -> Response:
        case = case_for_user(request, pk)
        if request.method == "GET":
            gate.read(request, case, part="closure_requests")
            closures = case.closure_requests.select_related("closure_reason", "requested_by", "decided_by")
            return Response(ClosureRequestSerializer(closures, many=True).data)
        serializer = ClosureRequestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        try:
            closure = services.closure_request_create(
                actor=gate.signed_in_user(request),
                case=case,
                closure_reason=serializer.validated_data["closure_reason"],
                comment=serializer.validated_data.get("comment", ""),
                text_decision=serializer.validated_data.get("text_decision"),
                move=spans(serializer.validated_data),
                request=request,
            )
        except (DjangoValidationError, services.IdentifiersFound) as error:
            raise as_api_error(error) from error
        return Response(ClosureRequestSerializer(closure).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Approve, send back or withdraw the waiting closure request",
        request=ClosureDecisionSerializer,
        responses=ClosureRequestSerializer,
        examples=[
            OpenApiExample("Approve", value={"decision": "approve"}, request_only=True),
            OpenApiExample(
                "Send back",
                value={"decision": "send_back", "comment": "Follow-up call first."},
                request_only=True,
            ),
        ],
    )
    @action(detail=True, methods=["post"], url_path="closure-decision", serializer_class=ClosureDecisionSerializer)
    def closure_decision(self, request: Request, pk: str) -> Response:
        case = case_for_user(request, pk)
        serializer = ClosureDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = serializer.validated_data["decision"]
        try:
            if decision == "approve":
                services.closure_request_approve(actor=gate.signed_in_user(request), case=case, request=request)
            elif decision == "send_back":
                services.closure_request_send_back(
                    actor=gate.signed_in_user(request),
                    case=case,
                    comment=serializer.validated_data.get("comment", ""),
                    text_decision=serializer.validated_data.get("text_decision"),
                    move=spans(serializer.validated_data),
                    request=request,
                )
            else:
                services.closure_request_withdraw(actor=gate.signed_in_user(request), case=case, request=request)
        except DjangoPermissionDenied as error:
            gate.note_refusal(request, object_type="cases.case", object_id=case.pk, closure=decision)
            raise PermissionDenied(str(error) or None) from error
        except (DjangoValidationError, services.IdentifiersFound) as error:
            raise as_api_error(error) from error
        closure = case.closure_requests.select_related("closure_reason", "requested_by", "decided_by").first()
        return Response(ClosureRequestSerializer(closure).data)


class TaxonomyTermSerializer(serializers.Serializer[Term]):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    active = serializers.BooleanField(
        help_text="Offered for a new choice; false: deactivated, or hidden by your organisation."
    )


TaxonomiesSerializer = type(
    "TaxonomiesSerializer",
    (serializers.Serializer,),
    {name: TaxonomyTermSerializer(many=True) for name in [*Vocabulary.values, "response_steps"]},
)


class TaxonomiesView(APIView):
    @extend_schema(
        summary="Taxonomies and the response-step catalogue",
        description="The shared terms and your organisation's own; shared terms it hides are listed as inactive.",
        responses=TaxonomiesSerializer,
        examples=[OpenApiExample("Excerpt", value={"channel": [{"code": "chat", "label": "Chat", "active": True}]})],
    )
    def get(self, request: Request) -> Response:
        organisation_id = gate.signed_in_user(request).organisation_id
        offered = set(terms_offered_to(organisation_id).values_list("pk", flat=True))
        body: dict[str, list[dict[str, Any]]] = {vocabulary: [] for vocabulary in Vocabulary.values}
        for term in terms_visible_to(organisation_id):
            body[term.vocabulary].append({"code": term.code, "label": term.label, "active": term.pk in offered})
        body["response_steps"] = [
            {"code": s.code, "label": s.label, "active": s.active} for s in StepType.objects.all()
        ]
        return Response(body)

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpline import gate
from reports.engine import may_see_true_counts_of
from reports.exports import disclosure_note
from reports.forms import ReportForm
from reports.models import DisclosureMethod, Snapshot
from reports.perturbation import CELL_KEY
from reports.publishing import published_for
from reports.replica import ReplicaUnavailable, reading_replica
from reports.selectors import snapshots_visible_to
from reports.views import valid_report_form

CanReadReports = gate.api_permission("reports.view_report", object_type="reports")


class ColumnSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    kind = serializers.ChoiceField(choices=["count", "percent", "days", "change", "minutes"])


class RowSerializer(serializers.Serializer[Any]):
    label = serializers.CharField()  # type: ignore[assignment]
    values = serializers.ListField(
        child=serializers.JSONField(),
        help_text=(
            'One per column: a number, "x" for a figure computed from fewer than k, or null when there is '
            'nothing to compute it from. Snapshots made by cell suppression also hold "<k" for a small count.'
        ),
    )


class TableSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    row_header = serializers.CharField()
    columns = ColumnSerializer(many=True)
    rows = RowSerializer(many=True)
    total = RowSerializer(allow_null=True)


class ReplicaSerializer(serializers.Serializer[Any]):
    lag_seconds = serializers.FloatField(
        allow_null=True,
        help_text="How far the replica's data is behind the main database, at most; null when it cannot tell.",
    )
    receiving = serializers.BooleanField(help_text="Whether the replica is receiving changes from the main database.")
    far_behind = serializers.BooleanField(help_text="Behind by more than the deployment allows, or by an unknown time.")
    note = serializers.CharField(help_text="The same in words, as the report page says it.")


class ReportSerializer(serializers.Serializer[Any]):
    parameters = serializers.DictField()
    generated_at = serializers.DateTimeField()
    suppressed = serializers.BooleanField(help_text="Whether disclosure control was applied (always, for analysts).")
    method = serializers.ChoiceField(
        choices=DisclosureMethod.choices, allow_null=True, help_text="How, when applied; null for true counts."
    )
    threshold = serializers.IntegerField(help_text="k: counts from 1 to k-1 are published as 0 or k.")
    perturbation = serializers.IntegerField(
        allow_null=True, help_text="D: the largest change of a published count of k or more."
    )
    statement = serializers.CharField(help_text="What was done to the figures, in words to quote with them.")
    tables = TableSerializer(many=True)
    replica = ReplicaSerializer(
        allow_null=True,
        help_text="Where the deployment reads reports from a replica, how old its figures are; else null.",
    )


REPORT_PARAMETERS = [
    OpenApiParameter("organisations", int, many=True, description="Organisation ids; default the user's own."),
    OpenApiParameter("start", str, description="First month, YYYY-MM."),
    OpenApiParameter("end", str, description="Last month, YYYY-MM."),
    OpenApiParameter(
        "granularity",
        str,
        enum=["month", "quarter", "year"],
        description=(
            "Disclosure-controlled reports cover one calendar year, or run from a January to the current month."
        ),
    ),
    OpenApiParameter(
        "age_scheme",
        str,
        description="guidance, postal_police, iwf, esafety, or custom (true counts only, not for analysts).",
    ),
    OpenApiParameter("bands", str, description="With age_scheme=custom: lowest age of each band, e.g. 13,18,25."),
    OpenApiParameter("platform", str, description="Platform code: only cases naming this platform."),
    OpenApiParameter("sextortion_type", str, description="Sextortion type code."),
    OpenApiParameter("region", str, description="ISO 3166-2 region of the victim, e.g. IT-RM."),
    OpenApiParameter(
        "age_band", str, description="A band of the age scheme, 1 for the youngest; minor or adult: age not known."
    ),
    OpenApiParameter("gender", str, enum=["female", "male", "non_binary_other", "not_stated"]),
    OpenApiParameter("risk_level", str, enum=["low", "medium", "high", "critical"]),
    OpenApiParameter("channel", str, description="Channel code (who contacted, how)."),
    OpenApiParameter("reporter_type", str, description="Reporter code."),
    OpenApiParameter("agency", str, description="Agency code: only cases with a referral sent to it."),
]


class ReportView(APIView):
    """The statistical report: every table, disclosure-controlled unless the reader may see true counts."""

    permission_classes = [IsAuthenticated, CanReadReports]

    @extend_schema(
        parameters=REPORT_PARAMETERS,
        responses={200: ReportSerializer, 400: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        user = gate.signed_in_user(request)
        form = ReportForm(request.query_params, user=user)
        if not valid_report_form(request, form):
            return Response({"errors": form.errors.get_json_data()}, status=400)
        params = form.params()
        try:
            with reading_replica() as replica:
                report, tables, suppressed = published_for(user, params)
        except ReplicaUnavailable as unavailable:
            return Response({"detail": str(unavailable)}, status=503)
        gate.read(request, object_type="report", parameters=params.as_json(), api=True)
        return Response(
            {
                "parameters": params.as_json(),
                "generated_at": report.generated_at,
                "suppressed": suppressed,
                "method": CELL_KEY if suppressed else None,
                "threshold": settings.DISCLOSURE_THRESHOLD,
                "perturbation": settings.DISCLOSURE_PERTURBATION if suppressed else None,
                "statement": disclosure_note(suppressed=suppressed, threshold=settings.DISCLOSURE_THRESHOLD),
                "tables": [table.as_json() for table in tables],
                "replica": replica.as_json() if replica else None,
            }
        )


class SnapshotSerializer(serializers.ModelSerializer[Snapshot]):
    organisation = serializers.CharField(source="organisation.name")
    suppressed = serializers.SerializerMethodField()
    statement = serializers.SerializerMethodField(help_text="What was done to the figures, in words to quote.")
    tables = serializers.SerializerMethodField()

    class Meta:
        model = Snapshot
        fields = [
            "id",
            "organisation",
            "title",
            "parameters",
            "generated_at",
            "threshold",
            "method",
            "perturbation",
            "suppressed",
            "statement",
            "tables",
        ]

    def get_suppressed(self, snapshot: Snapshot) -> bool:
        user = self.context["request"].user
        return not may_see_true_counts_of(user, [snapshot.organisation_id])

    def get_statement(self, snapshot: Snapshot) -> str:
        return disclosure_note(
            suppressed=self.get_suppressed(snapshot),
            threshold=snapshot.threshold,
            method=snapshot.method,
            spread=snapshot.perturbation,
        )

    @extend_schema_field(TableSerializer(many=True))
    def get_tables(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        return snapshot.tables_suppressed if self.get_suppressed(snapshot) else snapshot.tables


class SnapshotSummarySerializer(serializers.ModelSerializer[Snapshot]):
    organisation = serializers.CharField(source="organisation.name")

    class Meta:
        model = Snapshot
        fields = ["id", "organisation", "title", "parameters", "generated_at", "threshold", "method", "perturbation"]


class SnapshotViewSet(
    gate.ScopedObjectMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Snapshot]
):
    """The monthly reports kept as they were generated; analysts receive the disclosure-controlled tables."""

    serializer_class = SnapshotSerializer
    permission_classes = [IsAuthenticated, CanReadReports]

    def get_queryset(self) -> QuerySet[Snapshot]:
        return snapshots_visible_to(self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Snapshot]]:
        # The list names the snapshots; their figures come one at a time, each read logged.
        return SnapshotSummarySerializer if self.action == "list" else SnapshotSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        gate.read(request, object_type="reports.snapshot", api=True)
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        snapshot = self.get_object()
        gate.read(request, snapshot, api=True)
        return Response(self.get_serializer(snapshot).data)

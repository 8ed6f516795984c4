from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpline import gate
from supervision.forms import BoardForm
from supervision.selectors import may_read_workload, stale_days_default, workload

CanReadWorkload = gate.api_permission(may_read_workload, object_type="workload")


class FiguresSerializer(serializers.Serializer[Any]):
    open_cases = serializers.IntegerField(help_text="Cases not closed.")
    high_risk = serializers.IntegerField(help_text="Open cases of high or critical risk.")
    overdue_steps = serializers.IntegerField(help_text="Open cases with a response step past its due time.")
    no_contact = serializers.IntegerField(help_text="Open cases with no contact for `stale_days` days.")
    followups_overdue = serializers.IntegerField(
        allow_null=True, help_text="Referrals under way whose follow-up date has passed (null for the unassigned)."
    )
    contacts_this_week = serializers.IntegerField(
        allow_null=True, help_text="Contacts recorded since Monday, local time (null for the unassigned)."
    )
    median_age_days = serializers.FloatField(
        allow_null=True, help_text="Median days since first contact of the open cases; null without any."
    )


class PersonSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")
    role = serializers.CharField()
    is_active = serializers.BooleanField()


class WorkerFiguresSerializer(FiguresSerializer):
    user = PersonSerializer()


class OrganisationSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class WorkloadSerializer(serializers.Serializer[Any]):
    organisation = OrganisationSerializer()
    generated_at = serializers.DateTimeField()
    stale_days = serializers.IntegerField()
    week_start = serializers.DateField(help_text="The Monday from which contacts this week are counted.")
    workers = WorkerFiguresSerializer(
        many=True, help_text="Every active worker and supervisor, and anyone holding cases."
    )
    unassigned = FiguresSerializer(help_text="Open cases nobody holds.")
    totals = FiguresSerializer(help_text="The whole organisation, the unassigned included.")


class WorkloadView(APIView):
    """The workload board's figures for the caller's organisation (no case references, no free text)."""

    permission_classes = [IsAuthenticated, CanReadWorkload]

    @extend_schema(
        parameters=[
            OpenApiParameter("days", int, description="Days without contact that make a case stale: 1 to 365."),
            OpenApiParameter("organisation", int, description="Your own organisation's id; any other is refused."),
        ],
        responses={200: WorkloadSerializer, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        user = gate.signed_in_user(request)
        asked = request.query_params.get("organisation")
        if asked is not None and asked != str(user.organisation_id):
            gate.note_refusal(request, object_type="workload", object_id=asked[:64])
            raise PermissionDenied("You may only read the workload of your own organisation.")
        form = BoardForm(request.query_params)
        if not form.is_valid():
            raise ValidationError({field: [str(e) for e in errors] for field, errors in form.errors.items()})
        days = form.cleaned_data["days"] or stale_days_default()
        figures = workload(user.organisation, stale_days=days)
        gate.read(request, object_type="workload", object_id=user.organisation_id, days=days, api=True)
        return Response(WorkloadSerializer(figures).data)

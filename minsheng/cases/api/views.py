"""REST API over cases: the same visibility and the same actions as the workbench."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from minsheng.cases import actions
from minsheng.cases.api import serializers as s
from minsheng.cases.models import Case
from minsheng.cases.queues import QUEUE_KEYS, in_queue
from minsheng.categories.models import Category
from minsheng.core.errors import Forbidden, InvalidInput
from minsheng.dedup import actions as dedup_actions
from minsheng.dedup.models import DuplicateSuggestion
from minsheng.units.models import Unit


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cases the caller may see. ``POST`` registers an appeal; actions are ``POST …/{number}/{action}/``."""

    lookup_field = "number"
    serializer_class = s.CaseSerializer

    def get_queryset(self):
        queryset = Case.objects.visible_to(self.request.user).select_related(
            "category", "category__parent", "responsible_unit", "handler"
        )
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("appeals", "events__actor", "events__actor_unit")
        if self.action == "list":
            params = self.request.query_params
            if params.get("state"):
                queryset = queryset.filter(state=params["state"])
            if params.get("queue") in QUEUE_KEYS:
                from django.utils import timezone

                queryset = in_queue(queryset, params["queue"], timezone.now())
            if params.get("channel"):
                queryset = queryset.filter(channel=params["channel"])
        return queryset.order_by("-registered_at", "-pk")

    def get_serializer_class(self):
        return s.CaseDetailSerializer if self.action == "retrieve" else s.CaseSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, description="状态"),
            OpenApiParameter(
                "queue",
                str,
                description="队列：to_dispatch, to_accept, in_progress, due_soon, overdue, "
                "to_follow_up, investigating, closed, all",
            ),
            OpenApiParameter("channel", str, description="渠道"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=s.RegisterSerializer, responses={201: s.CaseDetailSerializer})
    def create(self, request):
        from minsheng.cases.rules import is_dispatcher

        if not (is_dispatcher(request.user) or request.user.is_system):
            raise Forbidden("只有派单员或对接系统可以登记诉求")
        body = s.RegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        township = data.pop("township")
        external_ref = data.pop("external_ref")
        appeal, _ = dedup_actions.register(
            actor=request.user,
            township=township,
            district=township.parent if township else None,
            external_source=request.user.username if external_ref else "",
            external_ref=external_ref,
            **data,
        )
        case = self.get_queryset().model.objects.get(pk=appeal.case_id)
        return Response(
            s.CaseDetailSerializer(case, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    def _do(self, request, serializer_class, run):
        case = self.get_object()
        data = {}
        if serializer_class is not None:
            body = serializer_class(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        run(case, data)
        case.refresh_from_db()
        return Response(s.CaseSerializer(case, context={"request": request}).data)

    @extend_schema(request=s.DispatchSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"], url_path="dispatch")
    def dispatch_to(self, request, number=None):
        return self._do(
            request,
            s.DispatchSerializer,
            lambda c, d: actions.dispatch_case(c, d["unit"], actor=request.user, note=d["note"]),
        )

    @extend_schema(request=None, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, number=None):
        return self._do(request, None, lambda c, d: actions.accept_case(c, actor=request.user))

    @extend_schema(request=s.ReasonSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, number=None):
        return self._do(
            request,
            s.ReasonSerializer,
            lambda c, d: actions.return_case(
                c, actor=request.user, reason=d["reason"], suggested_unit=d.get("suggested_unit")
            ),
        )

    @extend_schema(request=s.AssignSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, number=None):
        def run(case, data):
            person = get_user_model().objects.filter(username=data["handler"]).first()
            if person is None:
                raise InvalidInput("承办人账号不存在", field="handler")
            actions.assign_handler(case, person, actor=request.user)

        return self._do(request, s.AssignSerializer, run)

    @extend_schema(request=s.NoteSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"])
    def note(self, request, number=None):
        return self._do(
            request, s.NoteSerializer, lambda c, d: actions.add_note(c, actor=request.user, note=d["note"])
        )

    @extend_schema(request=s.ExtensionRequestSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"], url_path="request-extension")
    def request_extension(self, request, number=None):
        return self._do(
            request,
            s.ExtensionRequestSerializer,
            lambda c, d: actions.request_extension(c, actor=request.user, days=d["days"], reason=d["reason"]),
        )

    @extend_schema(request=s.ExtensionDecisionSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"], url_path="decide-extension")
    def decide_extension(self, request, number=None):
        return self._do(
            request,
            s.ExtensionDecisionSerializer,
            lambda c, d: actions.decide_extension(
                c, actor=request.user, approve=d["approve"], note=d["note"]
            ),
        )

    @extend_schema(request=s.CompleteSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, number=None):
        return self._do(
            request,
            s.CompleteSerializer,
            lambda c, d: actions.complete_case(c, actor=request.user, result=d["result"], reply=d["reply"]),
        )

    @extend_schema(request=s.FollowupSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"])
    def followup(self, request, number=None):
        return self._do(
            request,
            s.FollowupSerializer,
            lambda c, d: actions.record_followup(c, actor=request.user, answer=d["answer"], note=d["note"]),
        )

    @extend_schema(request=s.CloseSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, number=None):
        return self._do(
            request, s.CloseSerializer, lambda c, d: actions.close_case(c, actor=request.user, note=d["note"])
        )

    @extend_schema(request=s.InvestigationSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"])
    def investigate(self, request, number=None):
        return self._do(
            request,
            s.InvestigationSerializer,
            lambda c, d: actions.record_investigation(c, actor=request.user, **d),
        )

    @extend_schema(request=s.CategoriseSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"])
    def categorise(self, request, number=None):
        """Set or correct the category (更正类别); a label for the classifier's next retrain."""
        return self._do(
            request,
            s.CategoriseSerializer,
            lambda c, d: actions.set_category(c, d["category"], actor=request.user, note=d["note"]),
        )

    @extend_schema(request=s.DuplicateDecisionSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"], url_path="duplicate-decision")
    def duplicate_decision(self, request, number=None):
        """Answer a possible duplicate (疑似重复) of this case: ``link`` (并案: this case's appeals join
        the other case, or it is marked a repeat of an answered one) or ``dismiss`` (不是同一事项)."""

        def run(case, data):
            suggestion = DuplicateSuggestion.objects.filter(pk=data["suggestion"], case=case).first()
            if suggestion is None:
                raise InvalidInput("本工单没有这条疑似重复", field="suggestion")
            decide = (
                dedup_actions.link_suggestion
                if data["decision"] == "link"
                else dedup_actions.dismiss_suggestion
            )
            decide(suggestion, actor=request.user, note=data["note"])

        return self._do(request, s.DuplicateDecisionSerializer, run)

    @extend_schema(request=s.SplitSerializer, responses={201: s.CaseSerializer})
    @action(detail=True, methods=["post"])
    def split(self, request, number=None):
        """Undo a link (拆分): the linked appeal opens its own case; answers that new case."""
        case = self.get_object()
        body = s.SplitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        appeal = case.appeals.filter(pk=body.validated_data["appeal"]).first()
        if appeal is None:
            raise InvalidInput("本工单没有这件诉求", field="appeal")
        new_case = dedup_actions.split_appeal(
            appeal, actor=request.user, reason=body.validated_data["reason"]
        )
        return Response(
            s.CaseSerializer(new_case, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    """The unit tree (names are what ``dispatch`` takes)."""

    serializer_class = s.UnitSerializer
    queryset = Unit.objects.filter(active=True).select_related("parent").order_by("path")


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.CategorySerializer
    lookup_field = "code"
    queryset = Category.objects.filter(active=True).select_related("parent")

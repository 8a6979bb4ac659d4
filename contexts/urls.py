from rest_framework_nested.routers import NestedSimpleRouter

from contexts import views
from etlsite.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.include_root_view = False
router.register("contexts", views.ContextViewSet, basename="context")
context_router = NestedSimpleRouter(router, "contexts", lookup="context")
context_router.register("credentials", views.CredentialViewSet, basename="context-credential")

urlpatterns = router.urls + context_router.urls

from contexts import views
from etlsite.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.include_root_view = False
router.register("contexts", views.ContextViewSet, basename="context")

urlpatterns = router.urls

from etlsite.routers import OptionalSlashRouter
from jobs import views

router = OptionalSlashRouter()
router.include_root_view = False
router.register("jobs", views.JobViewSet, basename="job")
router.register("component-types", views.ComponentTypeViewSet, basename="component-type")

urlpatterns = router.urls

from rest_framework_nested.routers import NestedSimpleRouter

from etlsite.routers import OptionalSlashRouter
from jobs import views

router = OptionalSlashRouter()
router.include_root_view = False
router.register("jobs", views.JobViewSet, basename="job")
router.register("component-types", views.ComponentTypeViewSet, basename="component-type")
job_router = NestedSimpleRouter(router, "jobs", lookup="job")
job_router.register("dependencies", views.JobDependencyViewSet, basename="job-dependency")
job_router.register("versions", views.JobVersionViewSet, basename="job-version")

urlpatterns = router.urls + job_router.urls

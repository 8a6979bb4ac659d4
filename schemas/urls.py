from etlsite.routers import OptionalSlashRouter
from schemas import views

router = OptionalSlashRouter()
router.include_root_view = False
router.register("schemas", views.SchemaViewSet, basename="schema")

urlpatterns = router.urls

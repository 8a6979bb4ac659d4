from rest_framework.routers import DefaultRouter


class OptionalSlashRouter(DefaultRouter):
    """Match `/jobs` and `/jobs/` alike: the seed routes have no trailing slash,
    Django/DRF clients usually send one, and a redirect would drop a POST body."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"

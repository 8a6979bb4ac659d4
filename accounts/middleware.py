"""Rate-limit the HTML login forms (site and admin) like the API's login routes."""

import math

from django.http import HttpResponse

from accounts.throttling import LoginThrottle

LOGIN_FORM_PATHS = ("/login/", "/admin/login/")


class LoginFormThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in LOGIN_FORM_PATHS:
            throttle = LoginThrottle()
            if not throttle.allow_request(request, None):
                wait = math.ceil(throttle.wait() or 1)
                response = HttpResponse(
                    f"Too many login attempts. Try again in {wait} seconds.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(wait)
                return response
        return self.get_response(request)

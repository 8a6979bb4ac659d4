"""Every HTML page carries a Content-Security-Policy, works under it, and
loads nothing from any other host (the product must work offline).

Before: no CSP at all, and /api/redoc/ loaded web fonts from
fonts.googleapis.com. Checked in a real browser (Debian's chromium driven
by Playwright): every request a page makes, and every CSP violation it
reports, while the page renders.
"""

import json
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from execution.models import Execution, State
from jobs.models import Job
from monitoring import setup
from tests.ui.test_browser import (
    PASSWORD,
    WAIT_MS,
    chromium,  # noqa: F401 - the browser fixture
)

RENDER_MS = 15_000

# Records what the page itself reports; injected by the browser, so the page's CSP does not apply to it.
LISTEN_FOR_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture
def demo(data_root):
    setup.ensure_default_context()
    setup.copy_sample_data()
    setup.ensure_demo_job()
    job = Job.objects.get(name=setup.DEMO_JOB_NAME)
    execution = Execution.objects.create(job=job, state=State.SUCCEEDED, rows_read=12, rows_written=12)
    return job, execution


@pytest.fixture
def admin_page(chromium, live_server, django_user_model):  # noqa: F811 - the imported fixture
    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(LISTEN_FOR_VIOLATIONS)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    yield page
    context.close()


def visit(page, path: str, ready: str) -> dict:
    """Load `path`, wait for `ready` (a selector) and the network to settle;
    what it requested, the CSP violations seen and the document's headers."""
    requested, console = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: console.append(message.text))
    response = page.goto(path)
    try:
        page.locator(ready).first.wait_for(state="visible", timeout=RENDER_MS)
        rendered = True
    except PlaywrightTimeout:
        rendered = False
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__cspViolations")
    violations += [text for text in console if "Content Security Policy" in text]
    return {
        "status": response.status,
        "headers": response.headers,
        "rendered": rendered,
        "requested": requested,
        "violations": violations,
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_has_a_csp_works_under_it_and_loads_nothing_from_outside(admin_page, live_server, demo):
    job, execution = demo
    pages = {
        "/": "text=Running now",
        "/jobs/": f"text={job.name}",
        f"/jobs/{job.pk}/": "svg.graph g.node",
        f"/executions/{execution.pk}/": "[data-field=state]",
        "/admin/": "#site-name",
        f"/admin/jobs/job/{job.pk}/change/": "#job_form",
        "/api/docs/": ".swagger-ui .info .title",
        "/api/redoc/": "text=etlsite API",
    }
    server = urlsplit(live_server.url).netloc
    problems = {}
    for path, ready in pages.items():
        seen = visit(admin_page, path, ready)
        outside = [url for url in seen["requested"] if urlsplit(url).netloc not in ("", server)]
        policy = seen["headers"].get("content-security-policy", "")
        found = {
            "status": seen["status"] if seen["status"] != 200 else None,
            "no CSP header": "default-src 'self'" not in policy or None,
            "did not render": not seen["rendered"] or None,
            "requested from outside": outside or None,
            "CSP violations": seen["violations"] or None,
        }
        found = {key: value for key, value in found.items() if value}
        if found:
            problems[path] = found
    assert not problems, json.dumps(problems, indent=1)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/no-such-page/", "/admin/login/"])
def test_pages_seen_before_logging_in_carry_the_policy_too(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy, policy
    assert "unsafe-inline" not in policy, policy

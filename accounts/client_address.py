"""The client's address, as rate limits and audit events see it.

X-Forwarded-For is written by whoever sends the request, so it is only
believed when the site says how many proxies stand in front of it
(`ETL_TRUSTED_PROXIES`, which is also DRF's `NUM_PROXIES`). Each trusted proxy
appends the address it received the request from, so with N proxies the
client is the N-th entry from the right; anything further left is the
client's own claim. With no trusted proxy the address is REMOTE_ADDR, the
peer of the TCP connection, whatever the header says.
"""

import ipaddress

from rest_framework.settings import api_settings


def client_address(request) -> str | None:
    """The address that throttles count and audit events record, or None."""
    remote_addr = request.META.get("REMOTE_ADDR") or None
    trusted_proxies = api_settings.NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if trusted_proxies == 0 or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",")]
    claimed = hops[-min(trusted_proxies, len(hops))]
    # A request that bypassed the proxies can carry anything here; the peer
    # address is then the only one known to be real.
    return claimed if _is_ip_address(claimed) else remote_addr


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True

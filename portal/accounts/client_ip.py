"""The address of the person making a request, as far as the portal may trust it.

Behind the TLS proxy the connecting address is the proxy's, shared by every user: a per-IP
sign-in limit would then put everyone in one bucket, and one attacker could lock everyone out.
The proxy tells us the client's address in a header, but a client can send that header too, so
it is read only when the settings say a proxy we run is in front:

- `TRUSTED_CLIENT_IP_HEADER` (e.g. "X-Real-IP"): the proxy overwrites this header, take it;
- else `TRUSTED_PROXY_COUNT` > 0: the proxies each append to `X-Forwarded-For`, so the entry
  that many places from the end is the one the outermost trusted proxy saw;
- else (no proxy trusted): the connecting address, whatever headers say.

`BEHIND_TLS_PROXY` (on in production by default) means one trusted proxy. allauth's rate limits
and session list read the address through `AccountAdapter.get_client_ip`, which calls this.
"""

import ipaddress

from django.conf import settings


def _clean(value):
    """A valid IP address in canonical form, or None ("1.2.3.4:5678" and "[::1]" accepted)."""
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def trusted_proxy_count():
    return max(0, int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0))


def client_ip(request):
    """The client's address; falls back to the connecting address when a trusted header is
    missing or malformed (a request that did not come through the proxy), never an error."""
    header = getattr(settings, "TRUSTED_CLIENT_IP_HEADER", "")
    if header:
        ip = _clean(request.headers.get(header))
        if ip:
            return ip
    else:
        count = trusted_proxy_count()
        forwarded = request.headers.get("x-forwarded-for", "")
        if count and forwarded:
            hops = [hop for hop in forwarded.split(",") if hop.strip()]
            if len(hops) >= count:
                ip = _clean(hops[-count])
                if ip:
                    return ip
    return _clean(request.META.get("REMOTE_ADDR")) or "0.0.0.0"

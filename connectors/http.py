"""The one HTTP session setup every channel client uses."""

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

USER_AGENT = "Junction/0.1 (+order-operations hub)"


class TimeoutSession(requests.Session):
    """A session that applies the configured timeout to every request."""

    def __init__(self, timeout=None):
        super().__init__()
        self.timeout = timeout or settings.CHANNEL_HTTP_TIMEOUT
        self.headers["User-Agent"] = USER_AGENT
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


def new_session() -> TimeoutSession:
    return TimeoutSession()

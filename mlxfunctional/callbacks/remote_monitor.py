"""``RemoteMonitor``: POSTs each epoch's logs to an HTTP server."""

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

from .callback import Callback


class RemoteMonitor(Callback):
    """Sends ``{"epoch": epoch, **logs}`` to ``root + path`` at the end of every epoch.

    The standard library's ``urllib`` posts it (no extra dependency). A server
    that cannot be reached, answers with an error status or is slower than
    ``timeout`` costs a warning, never the training run.

    Args:
        root: the server's root URL (``"http://localhost:9000"``).
        path: path under ``root`` the events go to (``"/publish/epoch/end/"``).
        field: the form field holding the JSON text when ``send_as_json=False``
            (the body is then ``application/x-www-form-urlencoded``).
        headers: dict of extra HTTP headers.
        send_as_json: post the JSON itself as ``application/json``.
        timeout: seconds to wait for the server on each request (10). Not a Keras
            argument: Keras waits without a bound.
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/",
                 field="data", headers=None, send_as_json=False, timeout=10.0):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    def _payload(self, epoch, logs):
        send = {"epoch": epoch}
        for key, value in (logs or {}).items():
            # numpy/MLX scalars become Python numbers; JSON has no other kind.
            send[key] = value.item() if hasattr(value, "item") else value
        return send

    def on_epoch_end(self, epoch, logs=None):
        send = self._payload(epoch, logs)
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("ascii")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        try:
            request = urllib.request.Request(self.root + self.path, data=body,
                                             headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (OSError, http.client.HTTPException, ValueError) as e:
            # (URLError/HTTPError and timeouts are OSErrors; a garbled answer an
            # HTTPException; a malformed URL a ValueError)
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root} "
                          f"({type(e).__name__}: {e})", stacklevel=2)

"""The app served by werkzeug on 127.0.0.1 and a free port, in a daemon thread (browser tests, API fuzzing)."""
from __future__ import annotations

import threading


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server

        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"live-{self.port}", daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

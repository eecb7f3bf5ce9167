"""moto_server with DynamoDB requests serialized.

moto rolls a failed TransactWriteItems back by restoring a deep copy of the whole table taken
before it started, which erases writes other request threads committed in between. DynamoDB
isolates transactions; serializing DynamoDB requests gives the emulator the same guarantee.
S3, SNS and SQS requests stay concurrent.

usage: python3 moto_serial.py HOST PORT
"""

import signal
import sys
import threading

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

_lock = threading.Lock()
_app = DomainDispatcherApplication(create_backend_app)


def app(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with _lock:
            return list(_app(environ, start_response))
    return _app(environ, start_response)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(host, port, app, threaded=True)


if __name__ == "__main__":
    main()

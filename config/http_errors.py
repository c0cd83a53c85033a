"""gunicorn's own error answers in the API's envelope.

gunicorn answers a request its HTTP parser rejects (a header or URL too long, a control
character in a header…) before Django sees it, with an HTML page quoting the offending input.
It has no setting for that page (benoitc/gunicorn#993); every worker class answers through
`gunicorn.util.write_error`, called from `Worker.handle_error`, and config/gunicorn.py replaces
it with `write_json_error`. Only the status is kept: the message is fixed per status and never
quotes the request (a rejected header may be an API key).
"""

import json
import socket

from gunicorn import util

from payments.errors import ErrorCode, ErrorType

_CODES = {
    414: ErrorCode.REQUEST_URI_TOO_LARGE,
    431: ErrorCode.REQUEST_HEADER_TOO_LARGE,
    501: ErrorCode.REQUEST_MALFORMED,  # a transfer coding gunicorn does not take: fix the request
}
_MESSAGES = {
    400: "The request is not valid HTTP: check its request line and headers.",
    414: "The request URL is too long.",
    431: "A request header is too large, or there are too many headers.",
    500: "An internal error occurred. It has been logged.",
    501: "The request's Transfer-Encoding is not supported: send Content-Length or chunked.",
}


def error_response(status: int, reason: str) -> bytes:
    """The whole HTTP/1.1 answer: the envelope as JSON, then the connection closes (gunicorn's
    parser cannot tell where the rejected request ends). `reason` is gunicorn's fixed phrase."""
    body = json.dumps({"error": _error(status, reason)}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


def _error(status: int, reason: str) -> dict[str, str | None]:
    server_side = status >= 500
    default_code = ErrorCode.INTERNAL_ERROR if server_side else ErrorCode.REQUEST_MALFORMED
    return {
        "type": str(ErrorType.API if server_side else ErrorType.INVALID_REQUEST),
        "code": str(_CODES.get(status, default_code)),
        "message": _MESSAGES.get(status, f"{reason}."),
        "param": None,
    }


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """`gunicorn.util.write_error`'s signature. `mesg` is not sent: it quotes the rejected
    request."""
    util.write_nonblock(sock, error_response(status_int, reason))

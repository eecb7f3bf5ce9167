"""moto_server, made as faithful as the service needs, for `npm start` and `npm test`.

Five changes to moto 5.2.1 (the version pinned in requirements-moto.txt; any other version is
refused, because the patches below replace moto internals):

1. DynamoDB requests are serialized. DynamoDB isolates transactions; moto does not, and
   serializing its DynamoDB requests gives the emulator the same guarantee. S3, SNS and SQS
   requests stay concurrent.
2. TransactWriteItems checks every condition before it changes anything and keeps an undo log of
   only the items it touches. moto deep-copies every table a transaction touches (to restore it on
   failure), so each write costs time linear in the table size, failed transactions under
   contention balloon memory, and a restored copy brings back a stale stream.
3. S3 PUT bodies are never parsed as forms. moto (through Flask) parses bodies sent as
   `application/x-www-form-urlencoded` or `multipart/form-data` and stores 0 bytes; S3 stores
   every PUT body as sent.
4. Bucket CORS is evaluated as S3 does: the first rule whose origin, method and (for preflights)
   headers all match decides; a request no rule matches gets no CORS headers. moto adds
   `Access-Control-Allow-Origin: <origin>` to every response (flask-cors), so a browser test could
   never see S3 refuse an origin, and it refuses a preflight when any rule (not every rule)
   misses, so rules for different methods and origins could not be combined.
5. An unsigned request's form body is always put back as read. To guess the service of a request
   without an Authorization header (a presigned part URL), moto reads a form-typed body as UTF-8;
   when it is not UTF-8 the bytes are consumed and never put back, and the request hangs waiting
   for them (a presigned part PUT of binary bytes from curl, whose default type is the form type).

usage: python3 moto_serial.py HOST PORT
"""

import copy
import io
import logging
import os
import re
import signal
import sys
import threading
import time

import flask
import moto
from moto.dynamodb import models as ddb_models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.moto_server import werkzeug_app
from moto.s3 import responses as s3_responses
from moto.s3.exceptions import AccessForbidden
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def pinned_version():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "requirements-moto.txt"), encoding="utf-8") as f:
        m = re.search(r"^moto\[server\]==(\S+)", f.read(), flags=re.MULTILINE)
    if not m:
        raise SystemExit("requirements-moto.txt does not pin moto[server]")
    return m.group(1)


# --- 2. transactions without whole-table copies ------------------------------------------------


def _key_of(backend, op_type, op):
    table = backend.get_table(op["TableName"])
    if op_type != "Put":
        return table, op["Key"]
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return table, key


def _restore(table, hash_key, range_key, old):
    """Puts one item back as it was (None: it did not exist)."""
    if range_key is not None:
        bucket = table.items[hash_key]
        if old is None:
            bucket.pop(range_key, None)
        else:
            bucket[range_key] = old
        if not bucket:
            del table.items[hash_key]
    elif old is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = old


def transact_write_items(self, transact_items):
    """moto's transact_write_items with the same answers, but O(items touched) not O(table).

    Phase 1 evaluates every condition against the current items and changes nothing, so a
    cancelled transaction (the common failure: a lost optimistic-concurrency race) costs no copy
    at all. Phase 2 applies the operations, remembering each touched item and each stream's
    length; an error there (a validation moto only detects while applying) puts those items back
    and drops the stream records the transaction added, so the stream never shows a write that
    did not happen. DynamoDB requests are serialized (see `app`), so nothing interleaves.
    """
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen = set()
    errors = []
    plan = []
    for item in transact_items:
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        original_item = None
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            table, key = _key_of(self, op_type, op)
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in seen:
                raise MultipleTransactionsException()
            seen.add(unique)
            current = self.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(
                    condition,
                    op.get("ExpressionAttributeNames"),
                    op.get("ExpressionAttributeValues"),
                )
                if not check.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            plan.append((op_type, op, table, key))
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # moto reports any other failure as that item's cancellation reason
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    undo = []
    streams = {}
    for index, (op_type, op, table, key) in enumerate(plan):
        try:
            if table.stream_shard is not None and id(table) not in streams:
                streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
            if op_type == "ConditionCheck":
                continue
            hash_key, range_key = self.get_keys_value(table, key)
            # Update changes the stored item in place, so keep a copy of the one item, not a reference.
            undo.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            condition = op.get("ConditionExpression")
            if op_type == "Put":
                self.put_item(
                    op["TableName"],
                    op["Item"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    op["TableName"],
                    key,
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
        except Exception as e:
            for t, h, r, old in reversed(undo):
                _restore(t, h, r, old)
            for shard, length in streams.values():
                del shard.items[length:]
            if isinstance(e, MockValidationException):
                raise
            reasons = [(None, None, None)] * len(plan)
            reasons[index] = (type(e).__name__, str(e), None)
            raise TransactionCanceledException(reasons)


# --- 3. raw S3 PUT bodies ------------------------------------------------------------------------


class RawPutRequest(flask.Request):
    """A PUT body is an object or a part (or XML configuration), never a form: leave it raw."""

    @property
    def want_form_data_parsed(self):
        if self.environ.get("REQUEST_METHOD") == "PUT":
            return False
        return super().want_form_data_parsed


# --- 4. bucket CORS as S3 evaluates it ----------------------------------------------------------


def _wildcard(pattern, value):
    """S3 CORS patterns allow one `*` wildcard; header names compare case-insensitively."""
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(regex, value, flags=re.IGNORECASE) is not None


def _first_rule(bucket, origin, method, request_headers=()):
    for rule in bucket.cors or []:
        if not any(_wildcard(o, origin) for o in rule.allowed_origins or []):
            continue
        if method not in (rule.allowed_methods or []):
            continue
        allowed = rule.allowed_headers or []
        if all(any(_wildcard(a, h) for a in allowed) for h in request_headers):
            return rule
    return None


def _cors_headers(rule, origin, preflight, request_headers=()):
    out = {
        "Access-Control-Allow-Origin": "*" if "*" in rule.allowed_origins else origin,
        "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    if "*" not in rule.allowed_origins:
        out["Access-Control-Allow-Credentials"] = "true"
    if rule.exposed_headers:
        out["Access-Control-Expose-Headers"] = ", ".join(rule.exposed_headers)
    if preflight:
        out["Access-Control-Allow-Methods"] = ", ".join(rule.allowed_methods)
        if request_headers:
            out["Access-Control-Allow-Headers"] = ", ".join(request_headers)
        if rule.max_age_seconds is not None:
            out["Access-Control-Max-Age"] = str(rule.max_age_seconds)
    return out


def _request_headers(headers):
    raw = headers.get("Access-Control-Request-Headers") or ""
    return [h.strip() for h in raw.split(",") if h.strip()]


def _set_cors_headers_options(self, headers, bucket):
    origin = headers.get("Origin")
    method = headers.get("Access-Control-Request-Method")
    wanted = _request_headers(headers)
    rule = _first_rule(bucket, origin, method, wanted) if origin and method else None
    if rule is None:
        raise AccessForbidden(
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
            "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
            "are not whitelisted by the resource's CORS spec."
        )
    self.response_headers.update(_cors_headers(rule, origin, True, wanted))


def _get_cors_headers_other(self):
    origin = self.headers.get("Origin")
    if not origin:
        return {}
    try:
        bucket = self.backend.get_bucket(self.bucket_name)
    except Exception:
        return {}
    rule = _first_rule(bucket, origin, self.method)
    return _cors_headers(rule, origin, False) if rule else {}


# --- 5. unsigned form bodies --------------------------------------------------------------------


def _get_body(self, environ):
    """moto's DomainDispatcherApplication._get_body, but the bytes it reads always go back."""
    try:
        simple_form = environ["CONTENT_TYPE"].startswith("application/x-www-form-urlencoded")
        size = int(environ["CONTENT_LENGTH"])
    except (KeyError, ValueError):
        return None
    if not simple_form or not size:
        return None
    raw = environ["wsgi.input"].read(size)
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def apply_patches():
    expected = pinned_version()
    if moto.__version__ != expected:
        raise SystemExit(
            f"moto {moto.__version__} found, but the local harness patches moto {expected} "
            "(local/requirements-moto.txt); npm start sets up the pinned version under .local/"
        )
    assert hasattr(ddb_models.DynamoDBBackend, "transact_write_items")
    ddb_models.DynamoDBBackend.transact_write_items = transact_write_items
    flask.Flask.request_class = RawPutRequest
    assert hasattr(s3_responses.S3Response, "_get_cors_headers_other")
    werkzeug_app.DISABLE_GLOBAL_CORS = True
    s3_responses.S3Response._set_cors_headers_options = _set_cors_headers_options
    s3_responses.S3Response._get_cors_headers_other = _get_cors_headers_other
    assert hasattr(DomainDispatcherApplication, "_get_body")
    DomainDispatcherApplication._get_body = _get_body


# --- the server ----------------------------------------------------------------------------------

_lock = threading.Lock()


def make_app():
    dispatcher = DomainDispatcherApplication(create_backend_app)

    def app(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with _lock:
                return list(dispatcher(environ, start_response))
        return dispatcher(environ, start_response)

    return app


def _exit_with_parent():
    # Never outlive the process that started us, even if it was killed with SIGKILL.
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    apply_patches()
    # One line per request on stderr would drown the server's own log; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    run_simple(host, port, make_app(), threaded=True)


if __name__ == "__main__":
    main()

"""moto_server, made as faithful as the service needs, for `npm start` and `npm test`.

Six changes to moto 5.2.1 (the version pinned in requirements-moto.txt; any other version is
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

6. A Query reads only its partition, from where its page starts. moto's Query sorts every item
   of the table and tests each against the key condition (for an index too, and for
   `Select: COUNT`), so search and history latency grew with the whole table. Each queried
   index (and the table's own partitions) gets a view of its partitions, each kept sorted in
   moto's query order and moved item by item on every write path (put, delete, update, the
   transaction undo log); a query finds its partition, bisects to its start key and key
   condition, and reads on only while items can match. The answers (items, order, Count,
   ScannedCount, LastEvaluatedKey) are moto's own; what this does not handle exactly goes to
   moto's query.

usage: python3 moto_serial.py HOST PORT
"""

import bisect
import copy
import io
import logging
import os
import re
import signal
import sys
import threading
import time
import weakref
from decimal import Decimal

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
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, GlobalSecondaryIndex, Table
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
    _touch(table, hash_key, range_key)


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

# --- 6. queries read their own partition, not the table -----------------------------------------

# Sorted views of each table's partitions, kept in step with every write (see `_touch`). A table
# gets a view per queried index (and one of its own partitions, key None) on its first query.
_views = weakref.WeakKeyDictionary()  # Table -> {index name or None: _View}

# An item larger than this could end a page by its size alone (RESULT_SIZE_LIMIT); moto refuses
# items over 405,000 bytes, so in practice none is.
_BIG = 405000

# DynamoDB actions whose item changes all go through Table.put_item, Table.delete_item,
# DynamoDBBackend.update_item or the transaction's undo log (each keeps the views in step). Any
# other action (UpdateTable, PartiQL, restores, imports, ...) drops every view: the next query
# rebuilds what it needs.
_VIEW_SAFE = frozenset(
    """GetItem BatchGetItem TransactGetItems Query Scan PutItem UpdateItem DeleteItem BatchWriteItem
    TransactWriteItems DescribeTable ListTables CreateTable DeleteTable DescribeTimeToLive
    UpdateTimeToLive TagResource UntagResource ListTagsOfResource DescribeContinuousBackups
    DescribeEndpoints DescribeLimits""".split()
)

_SORTABLE = ("S", "N")


def _plain(value, wanted=None):
    """A key value as a plain str or Decimal, which orders exactly as moto orders DynamoType
    values of one type; None when it is not a valid S or N value (of the wanted type)."""
    if not isinstance(value, DynamoType):
        if not isinstance(value, dict) or len(value) != 1:
            return None
        value = DynamoType(value)
    if value.type not in _SORTABLE or (wanted is not None and value.type != wanted):
        return None
    if not isinstance(value.value, str):
        return None
    if value.type == "N":
        try:
            return Decimal(value.value)
        except ArithmeticError:
            return None
    return value.value


class _Part:
    """One partition: its items in moto's query order, and those that cannot be ordered."""

    __slots__ = ("keys", "items", "sizes", "odd", "big")

    def __init__(self):
        self.keys = []  # sort key (plain values) of each item, ascending
        self.items = []
        self.sizes = []  # Item.size() of each, as of its last write
        self.odd = 0  # items with a sort attribute not of its declared S/N type
        self.big = 0  # items over _BIG bytes


class _View:
    """A table's items grouped by an index's hash key (or the table's own), each group sorted
    exactly as moto's query sorts results (`Table.sorted_items` on `_generate_attr_to_sort_by`).
    """

    def __init__(self, table, index):
        self.schema = copy.deepcopy(index.schema) if index is not None else None
        if index is None:
            hash_keys, range_keys = [table.hash_key_attr], []
            hash_attrs, range_attrs = [table.hash_key_attr], [table.range_key_attr]
        else:  # as moto's Table.query builds them
            hash_keys = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            range_keys = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
            hash_attrs = hash_keys + [table.hash_key_attr]
            if range_keys:
                range_attrs = range_keys + [table.range_key_attr]
            elif isinstance(index, GlobalSecondaryIndex) and table.range_key_attr:
                range_attrs = [table.range_key_attr, table.range_key_attr]
            else:
                range_attrs = [table.hash_key_attr, table.range_key_attr]
        self.base = index is None
        self.hash_keys = hash_keys
        self.range_keys = range_keys
        self.sort_attrs = table._generate_attr_to_sort_by(hash_attrs, range_attrs)
        assert self.sort_attrs[: len(hash_keys)] == hash_keys
        self.rest = self.sort_attrs[len(hash_keys) :]  # what orders items within a partition
        declared = {a["AttributeName"]: a["AttributeType"] for a in table.attr}
        declared[table.hash_key_attr] = table.hash_key_type
        if table.range_key_attr is not None:
            declared[table.range_key_attr] = table.range_key_type
        self.types = {a: declared.get(a) for a in self.sort_attrs}
        self.parts = {}  # tuple of hash values (DynamoType) -> _Part
        self.where = {}  # (table hash, table range) -> (partition, sort key or None, size)
        grouped = {}
        for key, item in _all_items(table):
            placed = self._placement(item)
            if placed is None:
                continue
            pkey, skey, size = placed
            part = self.parts.get(pkey)
            if part is None:
                part = self.parts[pkey] = _Part()
                grouped[pkey] = []
            if skey is None:
                part.odd += 1
            else:
                grouped[pkey].append((skey, item, size))
            part.big += size > _BIG
            self.where[key] = placed
        for pkey, triples in grouped.items():
            triples.sort(key=lambda t: t[0])
            self.parts[pkey].keys = [t[0] for t in triples]
            self.parts[pkey].items = [t[1] for t in triples]
            self.parts[pkey].sizes = [t[2] for t in triples]

    def _placement(self, item):
        """(partition, sort key or None when it cannot be ordered, size) or None: not in the index."""
        if self.base:
            pkey = (item.hash_key,)
        else:
            # moto's query matches items whose index key attributes are all present
            pkey = tuple(item.attrs.get(a) for a in self.hash_keys)
            if any(v is None for v in pkey) or any(item.attrs.get(a) is None for a in self.range_keys):
                return None
            if any(v.type not in _SORTABLE for v in pkey):
                return None  # no query this path answers (S or N hash values) can match it
        skey = []
        for a in self.rest:
            v = item.attrs.get(a)
            p = None if v is None or self.types[a] is None else _plain(v, self.types[a])
            if p is None:
                skey = None
                break
            skey.append(p)
        return pkey, (tuple(skey) if skey is not None else None), item.size()

    def place(self, key, item):
        """Moves the item stored under `key` (None: none now) to where it now belongs."""
        old = self.where.pop(key, None)
        if old is not None:
            pkey, skey, size = old
            part = self.parts[pkey]
            if skey is None:
                part.odd -= 1
            else:
                i = bisect.bisect_left(part.keys, skey)
                if i == len(part.keys) or part.keys[i] != skey:
                    raise LookupError(f"index view lost {key}")
                del part.keys[i]
                del part.items[i]
                del part.sizes[i]
            part.big -= size > _BIG
            if not part.items and not part.odd:
                del self.parts[pkey]
        if item is None:
            return
        placed = self._placement(item)
        if placed is None:
            return
        pkey, skey, size = placed
        part = self.parts.get(pkey)
        if part is None:
            part = self.parts[pkey] = _Part()
        if skey is None:
            part.odd += 1
        else:
            i = bisect.bisect_left(part.keys, skey)
            part.keys.insert(i, skey)
            part.items.insert(i, item)
            part.sizes.insert(i, size)
        part.big += size > _BIG
        self.where[key] = placed


def _all_items(table):
    for hash_key, stored in table.items.items():
        if table.range_key_attr is None:
            yield (hash_key, None), stored
        else:
            for range_key, item in stored.items():
                yield (hash_key, range_key), item


def _view(table, index_name, index):
    views = _views.get(table)
    if views is None:
        views = _views[table] = {}
    view = views.get(index_name)
    if view is None or (index is not None and view.schema != index.schema):
        view = views[index_name] = _View(table, index)
    return view


def _touch(table, hash_key, range_key):
    """After a write to one key: every view of the table moves that item where it now belongs."""
    views = _views.get(table)
    if not views:
        return
    if table.range_key_attr is None:
        item = table.items.get(hash_key)
    elif range_key is None:
        return  # moto refuses such a write before changing anything
    else:
        item = (table.items.get(hash_key) or {}).get(range_key)
    try:
        for view in views.values():
            view.place((hash_key, range_key), item)
    except Exception as e:  # never answer from a view that is out of step: rebuild it
        print(f"moto_serial: index views of {table.name} rebuilt ({e!r})", file=sys.stderr)
        _views.pop(table, None)


def _touch_attrs(table, attrs):
    try:
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    except Exception:
        return  # moto refused the item before storing it
    _touch(table, hash_key, range_key)


def put_item(self, item_attrs, *args, **kwargs):
    try:
        return _moto_put_item(self, item_attrs, *args, **kwargs)
    finally:
        _touch_attrs(self, item_attrs)


def delete_item(self, hash_key, range_key):
    try:
        return _moto_delete_item(self, hash_key, range_key)
    finally:
        _touch(self, hash_key, range_key)


def update_item(self, table_name, key, *args, **kwargs):
    """moto updates the stored item in place (and may create it first, even when it then fails)."""
    try:
        return _moto_update_item(self, table_name, key, *args, **kwargs)
    finally:
        try:
            table = self.get_table(table_name)
        except Exception:
            table = None
        if table is not None:
            if table.hash_key_attr in key:
                _touch_attrs(table, key)
            else:
                _touch(table, DynamoType(key), None)


def _interval(op, values, wanted):
    """(lower, lower strict, upper, upper strict) of a key condition on a sort key of the `wanted`
    type (None: unbounded), or None when this path does not handle it (moto's query answers)."""
    plain = [_plain(v, wanted) for v in values]
    if any(p is None for p in plain):
        return None
    op = {"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}.get(op, op)
    if op == "BETWEEN":
        return (plain[0], False, plain[1], False) if len(plain) == 2 else None
    if len(plain) != 1:
        return None
    v = plain[0]
    if op == "=":
        return v, False, v, False
    if op == "<":
        return None, False, v, True
    if op == "<=":
        return None, False, v, False
    if op == ">":
        return v, True, None, False
    if op == ">=":
        return v, False, None, False
    if op == "BEGINS_WITH" and wanted == "S":
        # the strings that start with v are exactly those in [v, v with its last character + 1)
        if v and ord(v[-1]) < sys.maxunicode:
            return v, False, v[:-1] + chr(ord(v[-1]) + 1), True
        return v, False, None, False
    return None


def query(
    self,
    hash_key,
    range_comparison,
    range_objs,
    limit,
    exclusive_start_key,
    scan_index_forward,
    projection_expressions,
    index_name=None,
    consistent_read=False,
    filter_expression=None,
    hash_key_conditions=None,
    range_key_conditions=None,
    **filter_kwargs,
):
    """moto's Table.query with the same answers, reading only the partition, from where the
    page starts to where it ends: O(log partition + items read), as on DynamoDB, instead of
    sorting and filtering the whole table on every query. Whatever this path does not handle
    exactly (legacy QueryFilter, multi-attribute keys, key values not of the declared S/N type,
    a malformed ExclusiveStartKey, ...) goes to moto's own query."""
    args = (hash_key, range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward)
    kwargs = dict(
        index_name=index_name,
        consistent_read=consistent_read,
        filter_expression=filter_expression,
        hash_key_conditions=hash_key_conditions,
        range_key_conditions=range_key_conditions,
        **filter_kwargs,
    )
    plan = None
    if not filter_kwargs:
        plan = _plan(self, *args, index_name, consistent_read, hash_key_conditions, range_key_conditions)
    if plan is None:
        return _moto_query(self, *args, projection_expressions, **kwargs)
    view, part, start, step, interval, range_attr = plan

    # moto's loop (Table.query, FILTER), from `start` on
    results = []
    result_size = 0
    scanned_count = 0
    last_evaluated_key = None
    keys, items, sizes = (part.keys, part.items, part.sizes) if part else ([], [], [])
    i = start
    while 0 <= i < len(items):
        result = items[i]
        size = sizes[i]  # result.size(), kept since its last write
        reached_length_limit = len(results) == limit
        reached_size_limit = (result_size + size) > RESULT_SIZE_LIMIT
        if reached_length_limit or reached_size_limit:
            last_evaluated_key = self._get_last_evaluated_key(results[-1], index_name)
            break
        if not range_comparison:
            results.append(result)
            result_size += size
            scanned_count += 1
        else:
            value = result.attrs.get(range_attr)
            if value is not None:
                matched = value.compare(range_comparison, range_objs)
            elif view.base:
                matched = result.range_key.compare(range_comparison, range_objs)
            else:
                matched = False
            if matched:
                results.append(result)
                result_size += size
                scanned_count += 1
            elif _beyond(keys[i][0], interval, step):
                # Nothing further matches; moto reads on only for a page ended by an item's size.
                if part.big == 0 and result_size + _BIG <= RESULT_SIZE_LIMIT:
                    break
        i += step

    # moto's tail, but without its deep copy of every result: nothing below changes an item
    # (projections build new ones), and the response is serialized before the DynamoDB lock is
    # released, so no later write can reach it. A COUNT over a large partition copied it all.
    if index_name:
        index = self.get_index(index_name)
        results = [index.project(r) for r in results]
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned_count, last_evaluated_key


def _beyond(value, interval, step):
    """Whether a sort key value lies past the key condition's interval in the reading direction."""
    lower, lower_strict, upper, upper_strict = interval
    if step > 0:
        return upper is not None and (value > upper or (upper_strict and value == upper))
    return lower is not None and (value < lower or (lower_strict and value == lower))


def _plan(
    table,
    hash_key,
    range_comparison,
    range_objs,
    limit,
    exclusive_start_key,
    scan_index_forward,
    index_name,
    consistent_read,
    hash_key_conditions,
    range_key_conditions,
):
    """(view, partition, first position, direction, interval, range attribute) of a query this
    path answers exactly as moto would, or None."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        return None
    if range_comparison and (not range_key_conditions or len(range_key_conditions) != 1):
        return None
    if index_name:
        index = {i.name: i for i in table.all_indexes()}.get(index_name)
        if index is None or (consistent_read and index in table.global_indexes):
            return None
        hash_keys = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        range_keys = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
        if len(hash_keys) != 1 or len(range_keys) > 1 or (range_comparison and not range_keys):
            return None
        if not hash_key_conditions or [n for n, _ in hash_key_conditions] != hash_keys:
            return None
        values = [v for _, v in hash_key_conditions]
    else:
        index = None
        if hash_key is None or (range_comparison and table.range_key_attr is None):
            return None
        values = [hash_key]
    if any(_plain(v) is None for v in values):
        return None
    try:
        view = _view(table, index_name, index)
    except Exception as e:
        print(f"moto_serial: no index view of {table.name} ({e!r})", file=sys.stderr)
        _views.pop(table, None)
        return None
    range_attr = None
    interval = None
    if range_comparison:
        range_attr = range_key_conditions[0][0]
        if not view.rest or range_attr != view.rest[0] or view.types[range_attr] is None:
            return None
        interval = _interval(range_comparison.upper(), range_objs, view.types[range_attr])
        if interval is None:
            return None
    part = view.parts.get(tuple(values))
    if part is not None and part.odd:
        return None
    n = len(part.items) if part else 0
    forward = scan_index_forward is not False
    start = 0 if forward else n - 1
    if exclusive_start_key is not None and n:
        # moto skips the items at or before the start key (Table._item_comes_before_dct)
        if not isinstance(exclusive_start_key, dict):
            return None
        hash_part = []
        for a, v in zip(view.hash_keys, values):
            p = _plain(exclusive_start_key.get(a), v.type)
            if p is None:
                return None
            hash_part.append(p)
        rest = []
        for a in view.rest:
            p = _plain(exclusive_start_key.get(a), view.types[a])
            if p is None:
                return None
            rest.append(p)
        mine = [_plain(v) for v in values]
        if hash_part != mine:
            before = hash_part < mine  # the start key lies before the whole partition
            start = (0 if before else n) if forward else (n - 1 if not before else -1)
        elif forward:
            start = bisect.bisect_right(part.keys, tuple(rest))
        else:
            start = bisect.bisect_left(part.keys, tuple(rest)) - 1
    if interval is not None and n:
        # the items before the interval cannot match: start at its first (or, backward, last)
        lower, lower_strict, upper, upper_strict = interval
        if forward and lower is not None:
            first = bisect.bisect_left(part.keys, (lower, _TOP) if lower_strict else (lower,))
            start = max(start, first)
        elif not forward and upper is not None:
            last = bisect.bisect_left(part.keys, (upper,) if upper_strict else (upper, _TOP)) - 1
            start = min(start, last)
    return view, part, start, 1 if forward else -1, interval, range_attr


class _Top:
    """Greater than any key value: (v, _TOP) sorts after every key whose first value is v."""

    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return True

    def __eq__(self, other):
        return other is self

    __hash__ = object.__hash__


_TOP = _Top()


_moto_query = Table.query
_moto_put_item = Table.put_item
_moto_delete_item = Table.delete_item
_moto_update_item = ddb_models.DynamoDBBackend.update_item


def apply_patches():
    expected = pinned_version()
    if moto.__version__ != expected:
        raise SystemExit(
            f"moto {moto.__version__} found, but the local harness patches moto {expected} "
            "(local/requirements-moto.txt); npm start sets up the pinned version under .local/"
        )
    assert hasattr(ddb_models.DynamoDBBackend, "transact_write_items")
    ddb_models.DynamoDBBackend.transact_write_items = transact_write_items
    Table.query = query
    Table.put_item = put_item
    Table.delete_item = delete_item
    ddb_models.DynamoDBBackend.update_item = update_item
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
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB_"):
            with _lock:
                if target.partition(".")[2] in _VIEW_SAFE:
                    return list(dispatcher(environ, start_response))
                _views.clear()
                try:
                    return list(dispatcher(environ, start_response))
                finally:
                    _views.clear()
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

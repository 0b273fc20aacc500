"""The one place where domain errors become HTTP statuses.

Every error body is ``{"error": {"code", "message", "details"}}`` with the message in the user's
language (``?lang=``, the ``lang`` cookie, then Accept-Language; Chinese by default).

Failures of the infrastructure rather than of the request (the database down, restarting, read-only or out
of disk; a commit that fails; the attachment disk full) answer 503/507 with a code of their own, on a page
as the error page; the request's transaction is rolled back (docs/deployment.md "Faults").
"""
from __future__ import annotations

import errno
import logging

from flask import jsonify, render_template, request, session as cookie_session
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from engine import errors as E

STATUS = {
    E.ValidationFailed: 422,
    E.DeploymentInvalid: 422,
    E.NotFound: 404,
    E.TaskNotOpen: 409,
    E.Conflict: 409,
    E.AuthenticationFailed: 401,
    E.PermissionDenied: 403,
    E.WorkflowFailed: 422,
    E.TooManyAttempts: 429,
}

HTTP_MESSAGES = {
    400: ("请求格式错误", "Bad request"), 401: ("请先登录", "Authentication required"),
    403: ("无权访问", "Forbidden"), 404: ("资源不存在", "Not found"),
    405: ("不支持该请求方法", "Method not allowed"), 413: ("上传内容过大", "Upload too large"),
    415: ("不支持的内容类型", "Unsupported media type"), 429: ("请求过于频繁", "Too many requests"),
}


def language() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in ("zh", "en"):
        return lang
    best = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
    return "en" if best.startswith("en") else "zh"


def error_text(error: E.DomainError, lang: str) -> str:
    """A refused action as one line for a page: the error's message and each detail's message (field
    errors are {field: [messages]}, deployment errors a list of messages)."""
    key = "message_en" if lang.startswith("en") else "message_zh"
    details = error.details
    items = [m for ms in details.values() if isinstance(ms, list) for m in ms] if isinstance(details, dict) \
        else list(details) if isinstance(details, list) else []
    return " ".join([error.message(lang), *[m.get(key, "") for m in items if isinstance(m, dict)]])


def status_for(error: E.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_response(code: str, message: str, status: int, details=None):
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    return response


def domain_error(error: E.DomainError):
    return error_response(error.code, error.message(language()), status_for(error), error.details)


# marshmallow's messages, in Chinese (prefix match; the English original stays in message_en).
SCHEMA_MESSAGES_ZH = [
    ("Missing data for required field", "缺少必填字段"), ("Unknown field", "未知字段"),
    ("Field may not be null", "该字段不能为空"), ("Not a valid string", "不是有效的文本"),
    ("Not a valid integer", "不是有效的整数"), ("Not a valid boolean", "不是有效的是/否值"),
    ("Not a valid datetime", "不是有效的日期时间（ISO 8601）"), ("Not a valid mapping type", "必须是对象"),
    ("Not a valid list", "必须是列表"), ("Must be one of", "取值必须是以下之一"),
    ("Length must be", "长度不符合要求"), ("Shorter than minimum length", "长度过短"),
    ("Longer than maximum length", "长度过长"), ("String does not match expected pattern", "格式不正确"),
    ("Must be greater than or equal to", "数值过小"), ("Must be less than or equal to", "数值过大"),
    ("Invalid input type", "数据类型不正确"), ("Not a valid aware datetime", "日期时间必须带时区"),
]


def localize_schema_messages(messages):
    """Turn marshmallow's {field: [text]} into {field: [{code, message_zh, message_en}]}, recursively."""
    if isinstance(messages, dict):
        return {key: localize_schema_messages(value) for key, value in messages.items()}
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out = []
        for text in messages:
            zh = next((z for prefix, z in SCHEMA_MESSAGES_ZH if text.startswith(prefix)), text)
            out.append({"code": "invalid", "message_zh": zh, "message_en": text})
        return out
    return messages


def schema_error(error: ValidationError):
    zh, en = "提交的数据不符合要求", "The submitted data is invalid"
    return error_response("validation_failed", en if language() == "en" else zh, 422, localize_schema_messages(error.messages))


def stale_error(_error: StaleDataError):
    return domain_error(E.Conflict())


def http_error(error: HTTPException):
    if not request.path.startswith(("/api/", "/open311/")):
        return error
    if request.path.startswith("/open311/"):      # unknown resources too answer in Open311's error shape
        from .open311_format import http_error_response
        return http_error_response(error)
    zh, en = HTTP_MESSAGES.get(error.code, (error.name, error.name))
    return error_response(f"http_{error.code}", en if language() == "en" else zh, error.code)


# code, status, zh, en of each infrastructure failure (see infrastructure_failure).
DATABASE_UNAVAILABLE = ("database_unavailable", 503, "数据库暂时不可用，操作未完成，请稍后重试",
                        "The database is unavailable; the request did not complete. Retry shortly")
DATABASE_FULL = ("database_full", 507, "数据库存储空间已满，操作未保存，请联系系统管理员",
                 "The database is out of disk space; nothing was saved. Contact the administrator")
STORAGE_FULL = ("storage_full", 507, "附件存储空间已满，文件未保存，请联系系统管理员",
                "The attachment storage is full; the file was not saved. Contact the administrator")
STORAGE_UNAVAILABLE = ("storage_unavailable", 503, "附件存储暂时无法写入，文件未保存",
                       "The attachment storage cannot be written; the file was not saved")
INTERNAL_ERROR = ("internal_error", 500, "服务器内部错误，操作未完成", "Internal server error; the request did not complete")
log = logging.getLogger("hotline.errors")


def infrastructure_failure(exc: BaseException | None) -> tuple | None:
    """Which failure an unexpected exception is: any driver error (connection refused or cut, server shutting
    down, read-only transaction, a commit refused) means the database; ENOSPC & co. the attachment disk."""
    if isinstance(exc, (DBAPIError, PoolTimeout)):
        orig = getattr(exc, "orig", None)
        # PostgreSQL's disk_full SQLSTATE, or SQLite's SQLITE_FULL ("database or disk is full")
        full = getattr(orig, "sqlstate", None) == "53100" or getattr(orig, "sqlite_errorcode", None) == 13
        return DATABASE_FULL if full else DATABASE_UNAVAILABLE
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return STORAGE_FULL
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO):
        return STORAGE_UNAVAILABLE
    return None


def failure_response(failure: tuple):
    code, status, zh, en = failure
    message = en if language() == "en" else zh
    if request.path.startswith("/api/"):
        return error_response(code, message, status)
    if request.path.startswith("/open311/"):
        from .open311_format import errors_response
        return errors_response(status, [message], code)
    cookie_session.pop("_flashes", None)  # e.g. "ticket created" of a form whose commit then failed
    try:
        return render_template("error.html", message=message), status
    except Exception:                    # noqa: BLE001 - the error page must not fail in turn
        return message, status, {"Content-Type": "text/plain; charset=utf-8"}


def unexpected_error(exc: Exception):
    """A driver or disk error raised while handling the request (the transaction is rolled back after it).
    A unique-key collision is a concurrent writer: the same 409 as a lost ticket race."""
    if isinstance(exc, IntegrityError):
        return failure_response((E.Conflict.code, 409, E.Conflict.message_zh, E.Conflict.message_en))
    failure = infrastructure_failure(exc) or INTERNAL_ERROR
    # The driver's message only: SQLAlchemy's own text carries the statement's parameters (personal data).
    log.error("%s on %s %s: %s: %s", failure[0], request.method, request.path, type(exc).__name__,
              getattr(exc, "orig", None) or exc, exc_info=failure is INTERNAL_ERROR)
    return failure_response(failure)


def server_error(error: InternalServerError):
    """Everything no other handler took, including a failed COMMIT (it happens after the view returned, in
    api/context.py): Flask has logged it and hands it over as the 500's original exception."""
    return failure_response(infrastructure_failure(error.original_exception) or INTERNAL_ERROR)


def register(app) -> None:
    app.register_error_handler(E.DomainError, domain_error)
    app.register_error_handler(ValidationError, schema_error)
    app.register_error_handler(StaleDataError, stale_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DBAPIError, unexpected_error)
    app.register_error_handler(PoolTimeout, unexpected_error)
    app.register_error_handler(OSError, unexpected_error)
    app.register_error_handler(InternalServerError, server_error)

"""Domain errors: one module, each with a stable machine-readable code and bilingual messages.

The HTTP layer maps them to statuses in one place (``api/errors.py``); engine code only raises.
"""
from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    message_zh = "操作失败"
    message_en = "Operation failed"

    def __init__(self, message_zh: str | None = None, message_en: str | None = None, *, details=None):
        self.message_zh = message_zh or self.message_zh
        self.message_en = message_en or self.message_en
        self.details = details
        super().__init__(self.message_en)

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang.startswith("en") else self.message_zh


class NotFound(DomainError):
    code = "not_found"
    message_zh = "对象不存在"
    message_en = "Not found"


class Conflict(DomainError):
    """Another writer advanced the ticket first, or the task is no longer open."""
    code = "conflict"
    message_zh = "数据已被他人修改，请刷新后重试"
    message_en = "The ticket was changed by someone else; reload and retry"


class TaskNotOpen(Conflict):
    code = "task_not_open"
    message_zh = "该任务已完成或已取消"
    message_en = "The task is no longer open"


class ValidationFailed(DomainError):
    """Input does not satisfy a schema or form definition; ``details`` maps field -> messages."""
    code = "validation_failed"
    message_zh = "提交的数据不符合要求"
    message_en = "The submitted data is invalid"


class DeploymentInvalid(ValidationFailed):
    code = "deployment_invalid"
    message_zh = "流程或规则文件校验未通过"
    message_en = "The diagram or rule files failed validation"


class AuthenticationFailed(DomainError):
    code = "authentication_failed"
    message_zh = "用户名或密码错误，或登录已失效"
    message_en = "Wrong username or password, or the session has expired"


class PermissionDenied(DomainError):
    code = "permission_denied"
    message_zh = "无权执行此操作"
    message_en = "You are not allowed to do this"


class WorkflowFailed(DomainError):
    """The diagram itself failed while running (a script or rule error); nothing was saved."""
    code = "workflow_error"
    message_zh = "流程执行出错，操作未保存"
    message_en = "The workflow failed to run; nothing was saved"


class NoAddress(DomainError):
    """The recipient has no address for the outbound channel (no e-mail, no phone); not retried."""
    code = "no_address"
    message_zh = "收件人没有该渠道的联系方式"
    message_en = "The recipient has no address for this channel"


class InvalidState(Conflict):
    """The ticket is not at a step where this action is possible (e.g. upgrading a directive)."""
    code = "invalid_state"
    message_zh = "工单当前状态不允许此操作"
    message_en = "The ticket's current state does not allow this"


def field_error(field: str, code: str, zh: str, en: str, *, message_zh: str | None = None,
                message_en: str | None = None) -> ValidationFailed:
    """A validation error about one field, in the shape the task forms and schemas use."""
    return ValidationFailed(message_zh or ValidationFailed.message_zh, message_en or ValidationFailed.message_en,
                            details={field: [{"code": code, "message_zh": zh, "message_en": en}]})


class TooManyAttempts(DomainError):
    """Too many failed sign-ins or requests from one client; ``retry_after`` is the wait in seconds (the
    web layer answers 429 with a Retry-After header)."""
    code = "too_many_attempts"
    message_zh = "尝试次数过多，请稍后再试"
    message_en = "Too many attempts; try again later"

    def __init__(self, message_zh: str | None = None, message_en: str | None = None, *, retry_after: int = 60,
                 details=None):
        self.retry_after = max(1, int(retry_after))
        super().__init__(message_zh, message_en, details={"retry_after": self.retry_after, **(details or {})})

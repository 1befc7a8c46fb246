"""The audit log: who changed what, when and from where."""

from moorage.audit.log import AuditLog, AuditQuery, AuditRecord

__all__ = ["AuditLog", "AuditQuery", "AuditRecord"]

"""Who is asking (defined in the domain so every layer can name it)."""

from moorage.domain.principal import ANONYMOUS, Principal

__all__ = ["ANONYMOUS", "Principal"]

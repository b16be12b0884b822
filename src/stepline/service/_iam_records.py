"""IAM records on disk: ``iam.json`` in the data directory (roles, policies, attachments).

Written atomically after every change made through the ``iam`` API and loaded when the service
starts, so that execution roles and their policies survive a restart. Policy documents hold no
secrets; the file is still private to the server's user (0600).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from stepline.policy import IamError, Roles
from stepline.service._events_files import RecordsFileError, read_json_file, write_json_file

__all__ = ["IAM_FILE", "IamRecordsFile"]

IAM_FILE: Final = "iam.json"
_WHAT: Final = "IAM records"

_log = logging.getLogger("stepline.service")


class IamRecordsFile:
    """Keeps a :class:`Roles` registry's roles and policies in ``<directory>/iam.json``.

    Args:
        roles: The registry.
        directory: The data directory.
    """

    def __init__(self, roles: Roles, directory: Path) -> None:
        self._roles = roles
        self.path = directory / IAM_FILE

    def load(self) -> None:
        """Load the saved roles and policies into the registry (nothing when there is no file).

        Raises:
            RecordsFileError: The file is unreadable or not an IAM records file.
        """
        document = read_json_file(self.path, _WHAT)
        if document is None:
            return
        try:
            self._roles.load_state(document)
        except (AttributeError, KeyError, TypeError, ValueError, IamError) as exc:
            raise RecordsFileError(
                f"The IAM records file {self.path} cannot be loaded ({type(exc).__name__}: "
                f"{exc}); restore it from a backup, or move it away to start without the roles "
                "and policies it holds."
            ) from None
        _log.info("Loaded roles and policies from %s", self.path)

    def save(self) -> None:
        """Write every role and customer managed policy (atomically, mode 0600)."""
        write_json_file(self.path, self._roles.export_state())

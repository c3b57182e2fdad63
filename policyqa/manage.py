"""Document management for the admin pages: upload, list with metadata and status, re-ingest,
delete, and export reviewed feedback as an eval set. Writes go through the server's own store,
so its readers see each change as soon as the write commits."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

from chatbot.answering.documents import Library
from chatbot.web.feedback import FeedbackStore, export_eval_set, index_corpus
from index_store.errors import DocumentNotFoundError, PolicyQAError
from index_store.records import IngestReport
from ingest.pipeline import Ingestor, ingest_paths, remove_document
from ingest.pipeline import Progress as IngestStep

Progress = Callable[[float, str], None]
UPLOADS_DIR = "uploads"
STATUS_TEXT = {
    "in_force": "现行有效 / in force",
    "expired": "已失效 / expired",
    "superseded": "已废止 / replaced",
    "not_yet_effective": "未生效 / not yet effective",
}


class DocumentManager:
    def __init__(
        self, ingestor: Ingestor, library: Library, feedback: FeedbackStore | None = None
    ) -> None:
        self.ingestor = ingestor
        self.library = library
        self.feedback = feedback
        self.uploads = ingestor.store.index_dir / UPLOADS_DIR

    def rows(self) -> list[list[object]]:
        today = self.library.today()
        rows: list[list[object]] = []
        for r in sorted(self.library.records().values(), key=lambda r: r.source):
            status, _ = self.library.status(r.doc_id, today)
            i = r.info
            rows.append(
                [r.doc_id, r.title, i.doc_number, i.issuer, i.region, i.published, i.effective,
                 i.expires, STATUS_TEXT[status], ", ".join(i.labels), i.collection, r.n_chunks]
            )  # fmt: skip
        return rows

    def upload(
        self, paths: list[str], labels: list[str], collection: str, progress: Progress
    ) -> list[list[object]]:
        """Copy the files into the index's upload folder (so re-ingest finds them) and index
        them with ``labels``; a file that fails is reported and the rest still go in."""
        self.uploads.mkdir(parents=True, exist_ok=True)
        kept: list[Path] = []
        for name in paths:
            source = Path(name)
            target = self.uploads / source.name
            shutil.copyfile(source, target)
            kept.append(target)
        ingestor = replace(self.ingestor, labels=tuple(labels), collection=collection)
        return self._run(kept, ingestor, progress)

    def reingest(self, doc_ids: list[str], progress: Progress) -> list[list[object]]:
        """Read each document's file again (keeping its labels and collection)."""
        records = self.library.records()
        rows: list[list[object]] = []
        for doc_id in doc_ids:
            record = records.get(doc_id)
            if record is None:
                raise DocumentNotFoundError(f"no document {doc_id!r} in the index")
            path = Path(record.source)
            if not path.is_file():
                raise PolicyQAError(f"{record.source}: the file is gone; upload it again")
            info = record.info
            ingestor = replace(self.ingestor, labels=info.labels, collection=info.collection)
            rows.extend(self._run([path], ingestor, progress))
        return rows

    def delete(self, doc_ids: list[str]) -> int:
        for doc_id in doc_ids:
            remove_document(self.ingestor.store, doc_id)
        return len(doc_ids)

    def export_feedback(self) -> str:
        """Reviewed feedback as an eval set, zipped; returns the zip's path."""
        if self.feedback is None:
            raise PolicyQAError("feedback is not enabled")
        folder = Path(tempfile.mkdtemp(prefix="policyqa-feedback-"))
        name = folder / f"feedback-eval-{date.today().isoformat()}"
        export_eval_set(self.feedback, name, index_corpus(self.ingestor.store))
        return shutil.make_archive(str(name), "zip", name)

    def _run(self, paths: list[Path], ingestor: Ingestor, progress: Progress) -> list[list[object]]:
        def advance(step: IngestStep) -> None:
            name = Path(step.file).name
            progress(
                step.files_done / max(len(paths), 1),
                f"{step.files_done}/{len(paths)} files · {step.pages_done} pages OCR'd · "
                f"{step.chunks} chunks · {name}",
            )

        progress(0.0, "indexing")
        report: IngestReport = ingest_paths(paths, ingestor, advance)
        return [[o.source, o.status, o.chunks, o.message or ""] for o in report.outcomes]

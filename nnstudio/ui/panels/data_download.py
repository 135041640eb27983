"""The data panel's answer to "MNIST (or Fashion-MNIST, CIFAR-10) is not on this computer":
download it or pick a folder.

A mixin of DataPanel (it uses the panel's message bar, busy indicator and job runners), kept
apart so the panel stays readable. The download runs ``nnstudio.data.download_mnist`` (or
``download_cifar10``) on a worker thread with a progress bar and a Cancel button in the inline
message bar.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from nnstudio import data


class MnistDownloadMixin:
    """Download / choose-folder actions for DataPanel."""

    def _offer_download(self, error) -> None:
        self._missing_kind = error.name
        self.message.show_message(
            str(error),
            "warning",
            [
                (
                    "Download…",
                    "Download its files into nnstudio's data folder (resumable).",
                    self.start_download,
                ),
                (
                    "Choose folder…",
                    "Pick a folder that already holds its files.",
                    self._ask_mnist_folder,
                ),
            ],
        )
        self.dataset_failed.emit(str(error))

    def start_download(self) -> None:
        kind = getattr(self, "_missing_kind", self.current_name())
        self.message.show_message(
            f"Downloading {kind}…",
            "info",
            [
                (
                    "Cancel",
                    "Stop the download; it resumes where it stopped next time.",
                    self.cancel_download,
                )
            ],
        )
        self.message.progress.setRange(0, 0)
        self.message.progress.show()

        def work(job):
            if kind == "cifar10":
                return data.download_cifar10(progress=job.report, cancel=job.cancel_event)
            return data.download_mnist(kind, progress=job.report, cancel=job.cancel_event)

        self._downloader.start(work)

    def cancel_download(self) -> None:
        self._downloader.cancel()
        self.message.show_message(
            "Download cancelled. The part already fetched is kept; Download… resumes it.",
            "warning",
            [
                ("Download…", "Resume the download.", self.start_download),
                (
                    "Choose folder…",
                    "Pick a folder that already holds its files.",
                    self._ask_mnist_folder,
                ),
            ],
        )

    def _on_download_progress(self, done, total, message) -> None:
        bar = self.message.progress
        if total:
            bar.setRange(0, 1000)
            bar.setValue(int(1000 * done / total))
        if message:
            self.message.label.setText(message)

    def _on_downloaded(self, _folder) -> None:
        self._set_busy(False)
        self.message.hide()
        self.load()

    def _on_download_failed(self, error) -> None:
        self._set_busy(False)
        self._offer_download(
            data.DatasetNotFound(
                f"Download failed: {error}", getattr(self, "_missing_kind", "mnist"), True
            )
        )

    def _ask_mnist_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with the dataset's files")
        if folder:
            self.use_mnist_folder(folder)

    def use_mnist_folder(self, folder: str) -> None:
        """Copy (verified) MNIST or CIFAR-10 files from ``folder`` into the data folder, then
        load."""
        kind = getattr(self, "_missing_kind", self.current_name())

        def work(job):
            if kind == "cifar10":
                return data.import_cifar10(folder)
            return data.import_mnist(kind, folder)

        self.message.hide()
        self._set_busy(True, f"Copying {kind} from {folder}…")
        self._downloader.start(work)

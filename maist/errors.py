"""MAIST's one error root. Every domain's error inherits it, so a caller catches one type.

    MaistError                           the root: what went wrong and what to do
      EtlFormatError   (data.etl)        an ETL file, folder or record that cannot be read as asked
      ClassSetError    (data.classes)    a class set, character or code that cannot be used
      PictureError     (data.preprocess) a picture that cannot be read or holds no character
        PictureTooLarge                  one over the pixel limit (the page answers 413)
      DatasetError     (data)            a data set that cannot be built or loaded as asked
      SynthError       (synth)           a synthetic set that cannot be generated as asked
      StrokeError      (synth.strokes)   a KanjiVG path that cannot be parsed
      ModelError       (nets)            an unknown model, option, loss or optimiser
      ScheduleError    (training)        a step table, recipe or augmentation that cannot be used
      RunError         (runs)           a run directory that is missing, damaged or mismatched
      TrainingError    (training.loop)   a run that cannot start, continue or finish
      ExportError      (inference.export) an export that cannot be made or read as asked
      BadRequest       (app)             a request the draw page refuses, with its HTTP status
      BrowserError     (app.browser)     no Chromium to drive, or the browser failed

The input-shaped ones keep `ValueError` as a second base, so `except ValueError` code that
predates the root still works. Messages speak in library terms ("resume it"); `params`
names the keyword arguments that would fix it, and maist.cli turns those into the
script's flags ("--resume").
"""

from __future__ import annotations


class MaistError(Exception):
    """Base of every error MAIST raises on purpose."""

    def __init__(self, message: str, *, params: tuple[str, ...] = ()):
        super().__init__(message)
        self.params = tuple(params)  # keyword arguments that would fix it, e.g. ("resume",)


class EtlFormatError(MaistError, ValueError):
    """An ETL file, folder or record that cannot be read as asked."""


class ClassSetError(MaistError, ValueError):
    """A class set, character or code that has no place in a class set or in JIS X 0208."""


class PictureError(MaistError, ValueError):
    """An image file that cannot be read as a picture of a character."""


class PictureTooLarge(PictureError):
    """A picture over the pixel limit, refused from its header before it is decoded."""


class DatasetError(MaistError, ValueError):
    """A data set that cannot be built or loaded as asked."""


class SynthError(MaistError, ValueError):
    """A synthetic set that cannot be generated as asked."""


class StrokeError(MaistError, ValueError):
    """A stroke path that cannot be parsed, or a character KanjiVG does not have."""


class ModelError(MaistError, ValueError):
    """An unknown model, model option, loss or optimiser."""


class ScheduleError(MaistError, ValueError):
    """A step table, recipe or augmentation that cannot be used."""


class RunError(MaistError):
    """A run directory that is missing, damaged, or does not fit what is asked of it."""


class TrainingError(MaistError, RuntimeError):
    """A run that cannot start, continue or finish: the message says what to do."""


class ClusterError(MaistError, RuntimeError):
    """Beyond one device: a device that is not there, a cluster spec that cannot be used,
    a task that died or never came up (the message names it and its address)."""


class ExportError(MaistError, ValueError):
    """An export that cannot be made as asked, or an exported model that cannot be read."""


class BadRequest(MaistError):
    """A request the draw page should not have sent: the status and message go back as JSON."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class BrowserError(MaistError):
    """No Chromium or driver to run the page in, or the browser failed."""

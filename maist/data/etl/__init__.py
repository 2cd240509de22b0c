"""Read and write AIST's ETL Character Database binary files, strictly and in chunks.

The rooms: formats (AIST's layouts) -> files (found, sized) and manifest (MAIST's own
sets) -> records (codes, pixels, writing) -> select (only the wanted classes decoded).

    find_etl_files(dir_or_files) -> [EtlFile]     name, format and record count, nothing decoded
    is_etl_source(path)          -> bool          a file named like ETL data, or a folder of them
    read_manifest(folder)        -> dict | None   the note MAIST leaves beside files it generated
    not_generated(folder)        -> bool          AIST's files: no note of MAIST's beside them
    iter_chunks(etl_file)        -> (first, recs)  structured records, a chunk at a time
    select(files, class_set, transform) -> Selection   only the wanted classes are decoded
    decode_images(recs, fmt)     -> (n, H, W) uint8    0..15 (4 bit) or 0/1 (1 bit), ink high
    write_etl(path, recs, fmt)   <- new_records(fmt, n) + pack_images(images, fmt)

Every record is a fixed-length big-endian struct (AIST's "G", "B" and "M" type pages);
its fields are named by a numpy structured dtype, so `recs["jis"]` is the JIS column of a
whole chunk. Pixels are packed left to right, the high nibble (or the high bit) first.
A pixel value is ink density: 0 is blank paper, 15 (or 1) the darkest ink, so strokes
come out bright on dark, as MNIST's do. Callers scale by `fmt.max_level` to get [0, 1].

Every failure raises `EtlFormatError`, naming the file, and where it applies the record and
its byte offset, and saying what to do.
"""

from ...errors import EtlFormatError  # noqa: F401  (etl.EtlFormatError, as before)
from .files import (  # noqa: F401
    SAME_WRITERS,
    EtlFile,
    files_in,
    find_etl_files,
    is_etl_source,
    iter_chunks,
    open_etl,
)
from .formats import (  # noqa: F401
    ETL8B_DTYPE,
    ETL8G_DTYPE,
    ETL9B_DTYPE,
    ETL9G_DTYPE,
    ETLM_DTYPE,
    FORMATS,
    EtlCountWarning,
    EtlFormat,
    expected_records,
    format_from_name,
    get_format,
)
from .manifest import (  # noqa: F401
    AGAIN,
    MANIFEST,
    check_finished,
    generated_writers,
    not_generated,
    read_manifest,
)
from .records import (  # noqa: F401
    check_codes,
    class_codes,
    code_table,
    decode_images,
    new_records,
    pack_images,
    record_chars,
    unpack_4bit,
    write_etl,
)
from .select import (  # noqa: F401
    PackedTransform,
    Selection,
    Transform,
    apply_transform,
    default_workers,
    iter_decoded,
    select,
    total_bytes,
    writer_ids,
)

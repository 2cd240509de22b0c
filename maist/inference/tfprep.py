"""MAIST's picture preprocessing as TensorFlow ops: an exported model reads PNG or JPEG bytes.

    pictures_to_inputs(pictures, preprocess) -> [N, 784]   encoded pictures -> network inputs

Each step mirrors data.preprocess, the numpy original, operation for operation, so that an
exported SavedModel turns a picture into the 28x28 that MAIST itself would:

    header_pixels     the size a PNG, GIF, BMP or JPEG says it has, read before decoding:
                      a picture over MAX_PICTURE_PIXELS is refused, as MAIST's reader does
    decode            PNG/JPEG -> greys, as PIL's "L" (RGB weights 19595/38470/7471 >> 16),
                      transparency laid on white, or on black under light ink
    to_ink            the border's median says which way round; block maxima (or minima of
                      dark ink) down to 512 px a side; ink in [0, 1]
    thicken           line weight from area and perimeter; a disc dilation (Dilation2D)
    clean_ink         connected pieces by label propagation with pointer jumping; tiny
                      pieces and neighbours' strokes at the edges dropped
    centered / blog   bounding box, PIL's antialiased resize as two matrix products, the
                      centre of mass (centered), or the field and BOX shrink (blog)

What does not carry over: a picture with no ink gives an all-zero input (MAIST's own
reader refuses it), and EXIF orientation is not applied (send pictures upright).
Floating-point order differs in the last bits; tests/test_export.py holds the result to
within 2/255 of MAIST's on the real touch drawings.
"""

from __future__ import annotations

from ..data import pictures
from ..data import preprocess as P
from ..errors import ModelError
from ..geometry import IMAGE_PIXELS, IMAGE_SIZE
from ..nets.backend import tf

F64, F32, I32 = tf.float64, tf.float32, tf.int32


# --- decoding ------------------------------------------------------------------------------


def _luma(rgb):
    """[H, W, 3] uint8 -> [H, W] 0..255 as PIL's convert("L"): integer weights, rounded."""
    w = tf.constant([19595, 38470, 7471], tf.int64)
    return tf.bitwise.right_shift(tf.reduce_sum(tf.cast(rgb, tf.int64) * w, axis=-1) + 32768, 16)


def _unsigned(data, start: int, n: int, big_endian: bool):
    """The n-byte unsigned integer at `start` of a string tensor, as int64."""
    raw = tf.cast(tf.io.decode_raw(tf.strings.substr(data, start, n), tf.uint8), tf.int64)
    weights = tf.constant([256 ** (n - 1 - i) if big_endian else 256 ** i for i in range(n)],
                          tf.int64)
    return tf.reduce_sum(raw * weights)


def header_pixels(data):
    """Width x height as a picture's header states it, int64, with no pixel decoded; 0
    for a kind not known here (decoding then says what is wrong). What keeps a few hundred
    bytes that claim 20,000 x 20,000 pixels from taking the machine's memory."""
    size = tf.strings.length(data)
    head = tf.strings.substr(data, 0, tf.minimum(size, 8))

    def png():  # IHDR: width and height, big-endian, at bytes 16 and 20
        return _unsigned(data, 16, 4, True) * _unsigned(data, 20, 4, True)

    def gif():  # the logical screen: little-endian 16-bit at bytes 6 and 8
        return _unsigned(data, 6, 2, False) * _unsigned(data, 8, 2, False)

    def bmp():  # BITMAPINFOHEADER: signed 32-bit at 18 and 22 (a negative height is top-down)
        w, h = (_unsigned(data, k, 4, False) for k in (18, 22))
        signed = lambda v: tf.where(v >= 2**31, 2**32 - v, v)  # noqa: E731
        return signed(w) * signed(h)

    def jpeg():
        shape = tf.cast(tf.io.extract_jpeg_shape(data), tf.int64)
        return shape[0] * shape[1]

    return tf.case([
        (tf.equal(head, b"\x89PNG\r\n\x1a\n") & (size >= 24), png),
        (tf.equal(tf.strings.substr(head, 0, 3), b"GIF") & (size >= 10), gif),
        (tf.equal(tf.strings.substr(head, 0, 2), b"BM") & (size >= 26), bmp),
        (tf.equal(tf.strings.substr(head, 0, 2), b"\xff\xd8"), jpeg),
    ], default=lambda: tf.constant(0, tf.int64), exclusive=True)


def checked(data, max_pixels: int = pictures.MAX_PICTURE_PIXELS):
    """`data` itself, once its header is within max_pixels; else an InvalidArgumentError
    that says so, raised before any decoding."""
    limit = tf.constant(max_pixels, tf.int64)
    check = tf.debugging.assert_less_equal(
        header_pixels(data), limit,
        message=f"the picture is over the limit of {max_pixels:,} pixels; scale it down "
                f"(a character needs a few hundred pixels a side)")
    with tf.control_dependencies([check]):
        return tf.identity(data)


def decode_grey(data):
    """Encoded PNG or JPEG bytes -> [H, W] float64 greys in 0..255, as read_picture."""
    img = tf.io.decode_image(data, channels=0, dtype=tf.uint8, expand_animations=False)
    channels = tf.shape(img)[2]
    colour = tf.cond(channels >= 3, lambda: img[..., :3],
                     lambda: tf.tile(img[..., :1], [1, 1, 3]))
    alpha = tf.cond(tf.equal(channels, 4) | tf.equal(channels, 2),
                    lambda: img[..., -1], lambda: tf.fill(tf.shape(img)[:2], tf.constant(255, tf.uint8)))
    lum = tf.cast(_luma(colour), F64)  # of the picture itself, before compositing
    a = tf.cast(alpha, F64)
    opaque = a > 127
    any_opaque = tf.reduce_any(opaque)
    mean_opaque = tf.math.divide_no_nan(tf.reduce_sum(tf.where(opaque, lum, 0.0)),
                                        tf.reduce_sum(tf.cast(opaque, F64)))
    light = any_opaque & (mean_opaque > 127) & tf.logical_not(tf.reduce_all(opaque))
    back = tf.where(light, tf.constant(0.0, F64), tf.constant(255.0, F64))
    blended = tf.round((tf.cast(colour, F64) * a[..., None] + back * (255.0 - a[..., None])) / 255.0)
    return tf.cast(_luma(tf.cast(blended, tf.uint8)), F64)


# --- to ink --------------------------------------------------------------------------------


def _median(values):
    """np.median of a 1-D tensor: the middle value, or the mean of the two middle ones."""
    v = tf.sort(values)
    n = tf.size(v)
    hi = v[n // 2]
    lo = v[(n - 1) // 2]
    return (lo + hi) / 2.0


def _reduce(pic, keep_max, side: int = pictures.WORK_SIDE):
    """reduce_ink: block maxima (or minima) of k x k, k the smallest whole factor that fits."""
    h, w = tf.shape(pic)[0], tf.shape(pic)[1]
    k = (tf.maximum(h, w) + side - 1) // side

    def reduced():
        ph, pw = (k - h % k) % k, (k - w % k) % k
        neutral = tf.where(keep_max, tf.constant(-1e30, F64), tf.constant(1e30, F64))
        padded = tf.pad(pic, [[0, ph], [0, pw]], constant_values=neutral)  # as the edge: neutral
        blocks = tf.reshape(padded, [(h + ph) // k, k, (w + pw) // k, k])
        return tf.cond(keep_max, lambda: tf.reduce_max(blocks, axis=[1, 3]),
                       lambda: tf.reduce_min(blocks, axis=[1, 3]))

    return tf.cond(k > 1, reduced, lambda: pic)


def to_ink(grey):
    """[H, W] greys 0..255 -> ink [h, w] float64 in [0, 1], bright, at most 512 px a side."""
    scale = tf.where(tf.reduce_max(grey) > 1.0, 255.0, 1.0)
    border = tf.concat([grey[0], grey[-1], grey[:, 0], grey[:, -1]], axis=0)
    border = tf.cast(tf.cast(border, F32) / tf.cast(scale, F32), F64)  # float32, as numpy
    background = _median(border)
    dark = background > 0.5
    pic = _reduce(grey, tf.logical_not(dark))
    pic = tf.cast(pic, F32) / tf.cast(scale, F32)  # float32 until lo, as numpy's
    pic = tf.cast(tf.where(dark, 1.0 - pic, pic), F64)
    lo = tf.where(dark, 1.0 - background, background)
    return tf.clip_by_value((pic - lo) / tf.maximum(1.0 - lo, 1e-6), 0.0, 1.0)


# --- masks and shapes ----------------------------------------------------------------------


def _shift_cross(mask, op):
    """op over a boolean mask and its 4 neighbours, the outside False: the binary dilation
    (tf.logical_or) or erosion (tf.logical_and) by a plus, as ndimage's defaults."""
    p = tf.pad(mask, [[1, 1], [1, 1]])
    out = op(p[1:-1, 1:-1], p[:-2, 1:-1])
    for part in (p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]):
        out = op(out, part)
    return out


def _box(mask):
    """(y0, y1, x0, x1) of a mask's True pixels, end exclusive (int32); zeros if none."""
    rows = tf.where(tf.reduce_any(mask, axis=1))[:, 0]
    cols = tf.where(tf.reduce_any(mask, axis=0))[:, 0]
    some = tf.size(rows) > 0
    y0 = tf.cond(some, lambda: rows[0], lambda: tf.constant(0, tf.int64))
    y1 = tf.cond(some, lambda: rows[-1] + 1, lambda: tf.constant(0, tf.int64))
    x0 = tf.cond(some, lambda: cols[0], lambda: tf.constant(0, tf.int64))
    x1 = tf.cond(some, lambda: cols[-1] + 1, lambda: tf.constant(0, tf.int64))
    return [tf.cast(v, I32) for v in (y0, y1, x0, x1)]


def line_weight(ink):
    mask = ink > 0.5
    area = tf.reduce_sum(tf.cast(mask, F64))
    perimeter = tf.reduce_sum(tf.cast(mask & tf.logical_not(_shift_cross(mask, tf.logical_and)), F64))
    y0, y1, x0, x1 = _box(mask)
    side = tf.cast(tf.maximum(y1 - y0, x1 - x0), F64)
    weight = 2.0 * area / tf.maximum(perimeter, 1.0) / tf.maximum(side, 1.0)
    return tf.where(area > 0, weight, tf.zeros_like(weight)), side


def thicken(ink, target: float = P.LINE_WEIGHT):
    """Grow thin strokes by a disc to about line weight `target`, as data.pictures.thicken."""
    width, side = line_weight(ink)
    grow = (width > 0.0) & (width < 0.8 * target)
    r = tf.maximum(tf.constant(0.0, F64), tf.round((target - width) * side / 2.0))
    r = tf.cast(tf.where(grow, r, tf.zeros_like(r)), I32)

    def dilated():
        yy, xx = tf.meshgrid(tf.range(-r, r + 1), tf.range(-r, r + 1), indexing="ij")
        disc = tf.where(yy * yy + xx * xx <= r * r, tf.constant(0.0, F64),
                        tf.constant(-1e30, F64))[..., None]
        padded = tf.pad(ink[None, :, :, None], [[0, 0], [r, r], [r, r], [0, 0]],
                        mode="SYMMETRIC")
        out = tf.nn.dilation2d(padded, disc, strides=[1, 1, 1, 1], padding="VALID",
                               data_format="NHWC", dilations=[1, 1, 1, 1])
        return out[0, :, :, 0]

    return tf.cond(r >= 1, dilated, lambda: ink)


def _labels(ink, unroll: int = 4):
    """Each pixel of ink labelled with the largest pixel index (1-based) of its piece
    (8-neighbours), 0 off the ink: max-pooling the labels within the ink, `unroll` times an
    iteration, then jumping each label to the label of the pixel it names, until nothing
    changes (a few dozen pooling steps for a drawn character, not its strokes' length)."""
    h, w = tf.shape(ink)[0], tf.shape(ink)[1]
    labels = tf.where(ink, tf.reshape(tf.range(1, h * w + 1, dtype=I32), [h, w]), 0)

    def step(labels, _):
        spread = labels
        for _ in range(unroll):
            pooled = tf.nn.max_pool2d(tf.cast(spread, F32)[None, :, :, None], 3, 1, "SAME")
            spread = tf.where(ink, tf.cast(pooled[0, :, :, 0], I32), 0)
        jumped = tf.reshape(tf.gather(tf.reshape(spread, [-1]), tf.maximum(spread - 1, 0)), [h, w])
        new = tf.where(ink, tf.maximum(spread, jumped), 0)
        return new, tf.reduce_any(tf.not_equal(new, labels))

    labels, _ = tf.while_loop(lambda labels, changed: changed, step,
                              [labels, tf.constant(True)], back_prop=False)
    return labels


def clean_ink(field):
    """data.preprocess.clean_ink: the character's ink, specks and edge fragments dropped.

    Connected pieces come from _labels, on the ink's bounding box alone (the rest holds no
    ink); areas and boxes from segment sums over the labels, in the field's coordinates."""
    h, w = tf.shape(field)[0], tf.shape(field)[1]
    ink_all = field > P.INK_THRESHOLD
    b0, b1, c0, c1 = _box(ink_all)
    ink = ink_all[b0:b1, c0:c1]
    bh, bw = b1 - b0, c1 - c0
    n = bh * bw
    labels = _labels(ink)
    flat = tf.reshape(labels, [-1])
    segments = n + 1
    area = tf.math.unsorted_segment_sum(tf.ones_like(flat), flat, segments)
    rows = tf.reshape(tf.tile(tf.range(b0, b1)[:, None], [1, bw]), [-1])
    cols = tf.reshape(tf.tile(tf.range(c0, c1)[None, :], [bh, 1]), [-1])
    y0 = tf.math.unsorted_segment_min(rows, flat, segments)
    y1 = tf.math.unsorted_segment_max(rows, flat, segments) + 1
    x0 = tf.math.unsorted_segment_min(cols, flat, segments)
    x1 = tf.math.unsorted_segment_max(cols, flat, segments) + 1
    first = tf.math.unsorted_segment_min(tf.range(n), flat, segments)  # raster order of pieces
    present = (area > 0) & (tf.range(segments) > 0)
    total = tf.reduce_sum(tf.where(present, area, 0))
    min_area = tf.maximum(0.01 * tf.cast(total, F64), 3.0)
    eq = tf.equal  # (TF1 graphs compare tensors with == by identity, not value)
    fragment = ((eq(y0, 0) & (y1 <= h // 5)) | (eq(y1, h) & (y0 >= h - h // 5))
                | (eq(x0, 0) & (x1 <= w // 5)) | (eq(x1, w) & (x0 >= w - w // 5)))
    keep = present & (tf.cast(area, F64) >= min_area) & tf.logical_not(fragment)
    # Nothing kept: the largest piece (the first in raster order among equals, as numpy's).
    largest = tf.where(present, area, -1)
    candidates = tf.where(present & tf.equal(largest, tf.reduce_max(largest)), first, n + 1)
    fallback = tf.equal(tf.range(segments), tf.argmin(candidates, output_type=I32)) & present
    keep = tf.cond(tf.reduce_any(keep), lambda: keep, lambda: fallback)
    mask = tf.pad(tf.gather(keep, labels), [[b0, h - b1], [c0, w - c1]])
    return _shift_cross(mask, tf.logical_or) & (field > 0)


# --- resizing as PIL does it ---------------------------------------------------------------


def resize_matrix(n_in, n_out, kind: str = "bilinear"):
    """(n_out, n_in) float32 weights of PIL's antialiased resize (data.resample.resize_matrix)."""
    n_in64, n_out64 = tf.cast(n_in, F64), tf.cast(n_out, F64)
    scale = n_in64 / n_out64
    filterscale = tf.maximum(scale, 1.0)
    centre = (tf.range(n_out64) + 0.5) * scale
    x = (tf.range(n_in64)[None, :] - centre[:, None] + 0.5) / filterscale
    if kind == "bilinear":
        weights = tf.maximum(1.0 - tf.abs(x), 0.0)
    else:  # box
        weights = tf.cast((x > -0.5) & (x <= 0.5), F64)
    return tf.cast(weights / tf.reduce_sum(weights, axis=1, keepdims=True), F32)


def resize(image, out_h, out_w, kind: str = "bilinear"):
    """[h, w] -> [out_h, out_w] float32, columns first then rows, as data.resample.resize."""
    image = tf.cast(image, F32)
    cols = tf.matmul(image, resize_matrix(tf.shape(image)[1], out_w, kind), transpose_b=True)
    return tf.matmul(resize_matrix(tf.shape(image)[0], out_h, kind), cols)


def _round_int(x):
    """Python's round() of a float64 scalar (half to even), as an int32."""
    return tf.cast(tf.round(x), I32)


def _crop(field, mask):
    y0, y1, x0, x1 = _box(mask)
    return tf.where(mask, field, 0.0)[y0:y1, x0:x1], y1 - y0, x1 - x0


def center_one(field, mask, box: int = P.BOX, size: int = IMAGE_SIZE):
    """preprocess.center_one: crop, fit into box, centre of mass to the centre."""

    def placed():
        crop, h, w = _crop(field, mask)
        scale = box / tf.cast(tf.maximum(h, w), F64)
        nh = tf.maximum(_round_int(tf.cast(h, F64) * scale), 1)
        nw = tf.maximum(_round_int(tf.cast(w, F64) * scale), 1)
        small = resize(crop, nh, nw)
        peak = tf.reduce_max(small)
        small = tf.where(peak > 0, small / peak, small)
        # float64 sums (exact for these values), as numpy's: a half-pixel centre rounds alike
        wide = tf.cast(small, F64)
        rows, cols = tf.reduce_sum(wide, axis=1), tf.reduce_sum(wide, axis=0)
        total = tf.reduce_sum(rows)
        cy = tf.tensordot(rows, tf.range(tf.cast(nh, F64)) + 0.5, 1) / total
        cx = tf.tensordot(cols, tf.range(tf.cast(nw, F64)) + 0.5, 1) / total
        top = tf.clip_by_value(tf.cast(tf.floor(size / 2 - cy + 0.5 + P.TIE), I32), 0, size - nh)
        left = tf.clip_by_value(tf.cast(tf.floor(size / 2 - cx + 0.5 + P.TIE), I32), 0, size - nw)
        return tf.pad(small, [[top, size - nh - top], [left, size - nw - left]])

    return tf.cond(tf.reduce_any(mask), placed, lambda: tf.zeros([size, size], F32))


def blog_from_ink(ink, height: int = 127, width: int = 128):
    """as_field then the blog's BOX shrink of the whole field to 28x28."""
    mask = clean_ink(ink)

    def field():
        crop, h, w = _crop(ink, mask)
        scale = P.FIELD_FILL * width / tf.cast(tf.maximum(h, w), F64)
        nh = tf.clip_by_value(_round_int(tf.cast(h, F64) * scale), 1, height)
        nw = tf.clip_by_value(_round_int(tf.cast(w, F64) * scale), 1, width)
        small = resize(crop, nh, nw)
        small = small / tf.maximum(tf.reduce_max(small), 1e-6)
        top, left = (height - nh) // 2, (width - nw) // 2
        return tf.pad(small, [[top, height - nh - top], [left, width - nw - left]])

    f = tf.cond(tf.reduce_any(mask), field, lambda: tf.zeros([height, width], F32))
    return resize(f, IMAGE_SIZE, IMAGE_SIZE, "box")


# --- all of it -----------------------------------------------------------------------------


def picture_to_input(data, preprocess: str):
    """One encoded picture -> [784] float32, as data.pictures.from_picture(path, preprocess)."""
    ink = to_ink(decode_grey(checked(data)))
    blank = tf.logical_not(tf.reduce_any(ink > P.INK_THRESHOLD))
    thick = thicken(ink)
    box = P.PREPROCESSORS[preprocess].box if preprocess in P.PREPROCESSORS else None
    if box is not None:
        image = center_one(thick, clean_ink(thick), box=box)
    elif preprocess == "blog":
        image = blog_from_ink(thick)
    else:
        raise ModelError(f"no TensorFlow version of preprocessing {preprocess!r}; export "
                         f"supports {', '.join(P.PREPROCESSORS)}")
    image = tf.where(blank, tf.zeros_like(image), image)
    return tf.reshape(image, [IMAGE_PIXELS])


def pictures_to_inputs(pictures, preprocess: str):
    """[N] encoded pictures (string) -> [N, 784] network inputs."""
    preprocess = P.ALIASES.get(preprocess, preprocess)
    return tf.map_fn(lambda d: picture_to_input(d, preprocess), pictures,
                     fn_output_signature=tf.TensorSpec([IMAGE_PIXELS], F32),
                     parallel_iterations=4, back_prop=False)

"""The data layer: from AIST's files (or anyone's pictures) to 28x28 batches. No TensorFlow.

    etl         ETL8G, ETL9G, ETL8B2, ETL9B and M-type records: named fields, strict checks
    classes     class sets as data; JIS X 0208 <-> Unicode <-> class index
    resample    PIL's antialiased resizing as matrix products
    preprocess  a field -> 28x28 (`centered24`, the default, and `centered`: MNIST's recipe
                into 24 or 20 px; `blog`, the blog's)
    pictures    a user's picture -> the field a preprocessor reads
    dataset     MaistData: splits by writer, the .npz and its cache, batches of a step
    replay      others' training data mixed into one hand's drawings
    sources     which kind of source a path is (ETL, .npz, pictures, the touch set), and load
    augment     training-time augmentation, a pure function of (seed, step)

It reads; it never generates (synth/ sits above it and writes ETL files this layer reads).
"""

"""Looking at what a model learned and how well it reads: numbers and pictures.

    metrics     confusion, per-class accuracy, top-k, cross-entropy (pure numpy)
    report      a run's scores and figures, the touch drawings' accuracy
    visualize   the figures (filters, activations, curves, mistakes, contact sheets)
    sheets      the grids behind the contact sheets
    compare     beginner against expert at the blog's checkpoints
"""

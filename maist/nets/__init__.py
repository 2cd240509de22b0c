"""The graphs, TF1 style: nothing here runs a session.

    backend     TensorFlow set up once (oneDNN, quiet, TF1 behaviour): tf, tf1
    models      the networks and their registry (MODELS, register(ModelSpec(...)))
    graph       a model in the training graph (placeholders -> inference -> loss -> train)
                or the inference graph (x -> inference -> probabilities)
"""

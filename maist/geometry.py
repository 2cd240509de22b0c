"""The image geometry every layer agrees on: MNIST's 28x28, flattened to 784 for the graphs."""

IMAGE_SIZE = 28  # MNIST's image side, and MAIST's
IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE  # 784: an image as a row of the x placeholder

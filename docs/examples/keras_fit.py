"""Keras with bars that read the same in a terminal and in a log file.

A common question asks why Keras' bar is inconsistent, and ends by wrapping ``model.fit(epochs=1,
verbose=0)`` in a tqdm loop to get control back. Keras' bar also fills log files with
backspaces and colour codes, because it believes every Linux stream is a terminal.

Here ``TrainbarCallback`` replaces Keras' bar (even with the default ``verbose=1``): an epochs
bar, a step bar per epoch with the loss and accuracy, the validation metrics on each epoch's
final line, and bars for ``evaluate`` and ``predict``. Redirected to a file, the output is
plain lines. The second part is that question's hand-written loop, with trainbar bars.

    KERAS_BACKEND=torch python docs/examples/keras_fit.py       # or jax, tensorflow
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import trainbar as tb  # noqa: E402
from trainbar.keras import TrainbarCallback  # noqa: E402

# The question trains on the iris data set; three well separated blobs of four features stand in.
rng = np.random.default_rng(0)
centres = rng.normal(0, 3, size=(3, 4))
y = rng.integers(0, 3, size=600)
X = (centres[y] + rng.normal(0, 1, size=(600, 4))).astype("float32")
X_train, X_test, y_train, y_test = X[:420], X[420:], y[:420], y[420:]

model = keras.Sequential([
    keras.Input((4,)),
    keras.layers.Dense(10, activation="relu"),
    keras.layers.Dense(3, activation="softmax"),
])  # fmt: skip
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

bars = TrainbarCallback()
model.fit(X_train, y_train, epochs=10, batch_size=16, validation_split=0.2, callbacks=[bars])
model.evaluate(X_test, y_test, callbacks=[bars], verbose=0)
probabilities = model.predict(X_test, callbacks=[bars], verbose=0)
tb.write(f"test accuracy: {(probabilities.argmax(axis=1) == y_test).mean():.3f}")

# The question's custom loop, on any backend: train_on_batch, with bars drawn by trainbar.
regressor = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
regressor.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=0.05))
X1 = rng.random((100, 1)).astype("float32")
y1 = (2 * X1 + 1 + rng.normal(0, 0.1, (100, 1))).astype("float32")
batch_size = 10
for epoch in tb.bar(range(10), desc="custom loop"):
    for start in tb.bar(range(0, len(X1), batch_size), desc=f"epoch {epoch + 1}", leave=False):
        logs = regressor.train_on_batch(X1[start : start + batch_size], y1[start : start + batch_size], return_dict=True)
        tb.log(**logs)
tb.write(f"learned y = {regressor.layers[0].kernel.numpy()[0, 0]:.2f} x + {regressor.layers[0].bias.numpy()[0]:.2f}")

"""One Fashion-MNIST epoch of the 784-256-128-10 MLP end to end, for either library:
``python benchmarks/epoch.py deltagrad|torch``. The same script serves both (the API is
shared); it prints one JSON line with the test accuracy and the time of each phase."""
import gzip
import json
import os
import sys
import time

t0 = time.perf_counter()
lib_name = sys.argv[1]
if lib_name == "torch":
    import torch as lib
    lib.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    from torch.utils.data import DataLoader, TensorDataset
else:
    import deltagrad as lib
    from deltagrad.utils.data import DataLoader, TensorDataset
import numpy as np
t_import = time.perf_counter() - t0

ROOT = os.environ.get("DELTAGRAD_DATA", "/usr/share/datasets/fashion-mnist")


def idx(name):
    with gzip.open(os.path.join(ROOT, name)) as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


t = time.perf_counter()
xtr = idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
ytr = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
xte = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
yte = idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
mu, sd = xtr.mean(), xtr.std()
xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
t_data = time.perf_counter() - t

t = time.perf_counter()
lib.manual_seed(0)
nn = lib.nn
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                      nn.Linear(128, 10))
opt = lib.optim.Adam(model.parameters(), lr=1e-3)
loader = DataLoader(TensorDataset(lib.from_numpy(xtr), lib.from_numpy(ytr)), batch_size=128,
                    shuffle=True)
for x, y in loader:
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
t_train = time.perf_counter() - t

t = time.perf_counter()
with lib.no_grad():
    pred = model(lib.from_numpy(xte)).argmax(1).numpy()
acc = float((pred == yte).mean())
t_eval = time.perf_counter() - t
print(json.dumps({"lib": lib_name, "test_accuracy": acc, "import_s": t_import, "data_s": t_data,
                  "train_s": t_train, "eval_s": t_eval,
                  "samples_per_s": len(xtr) / t_train}))

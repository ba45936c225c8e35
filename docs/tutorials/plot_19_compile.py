"""
torch.compile
=============

By default PyTorch runs *eagerly*: each operation runs as soon as Python
reaches it. ``torch.compile`` captures a function or a model as a graph of
operations, generates code for the whole graph, and runs that instead. It can
be much faster; it also costs time to compile, and sometimes it gains nothing.
This page measures both, on the CPU. After reading it you will be able to:

* compile a function and a model, and check that they compute what the eager
  code does;
* measure eager against compiled code fairly;
* tell the first call's compile cost from the speed of later calls;
* find graph breaks with ``torch._dynamo.explain``;
* recognise when compiling does not help.

On the CPU, ``torch.compile`` needs a C++ compiler (on Linux, ``g++``).

**What you need:** PyTorch ≥ 2.6. The `installation page
<https://pttour.github.io/pttour/en/install.html>`_ shows how to install it.
"""

# %%
# The first call compiles
# -----------------------
#
# ``torch.compile(fn)`` returns a wrapper and compiles nothing yet. At the
# first call, the *Dynamo* front end reads the function's Python bytecode and
# records the tensor operations into a graph; the *Inductor* back end fuses
# them into as few loops as it can, writes them as C++ (Triton on a GPU), and
# compiles that. Here one expression makes five operations, which eager
# PyTorch runs one after another, each writing a million-element result.
# ``counters`` holds the compiler's statistics (in a private module).

import time

import torch
from torch._dynamo.utils import counters

# One thread for every measurement on this page: several threads that wait for
# each other give erratic times on a machine busy with other work.
threads_before = torch.get_num_threads()
torch.set_num_threads(1)


def f(x):
    return torch.sin(x) ** 2 + torch.cos(x) ** 2


def cache_counts():
    hits = counters["inductor"]["fxgraph_cache_hit"]
    misses = counters["inductor"]["fxgraph_cache_miss"]
    return f"FX graph cache: {hits} hit(s), {misses} miss(es)"


compiled_f = torch.compile(f)
torch.manual_seed(0)
x = torch.randn(1_000_000)

start = time.perf_counter()
result = compiled_f(x)
print(f"first call (compiles):  {time.perf_counter() - start:7.3f} s")
print(cache_counts())
start = time.perf_counter()
compiled_f(x)
print(f"second call (compiled): {time.perf_counter() - start:7.3f} s")
# the same values as eager, within float tolerance
torch.testing.assert_close(result, f(x))

# %%
# A *miss* in Inductor's cache means that it generated the C++ code and
# compiled it, which takes seconds; a *hit*, that an earlier run on this
# machine had compiled the same graph, and the first call only traced the
# function and loaded the code. ``torch.testing.assert_close`` compares the
# result with the eager one within a tolerance: compiled code may round
# differently in the last bits.
#
# Eager against compiled, side by side
# ------------------------------------
#
# A fair comparison warms up, times many calls and takes the median, which a
# busy machine disturbs less than the mean: ``torch.utils.benchmark.Timer``
# does all three (and on a GPU waits for the device to finish). We also
# alternate, five rounds of eager then compiled, so that other work on the
# machine slows both; a difference under 10% counts as "about the same".

import statistics

from torch.utils.benchmark import Timer


def median_seconds(fn, *args):
    timer = Timer(stmt="fn(*args)", globals={"fn": fn, "args": args})
    return timer.blocked_autorange(min_run_time=0.1).median


def readable(seconds):
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def compare(label, eager_fn, compiled_fn, *args, rounds=5):
    eager, compiled = [], []
    for _ in range(rounds):
        eager.append(median_seconds(eager_fn, *args))
        compiled.append(median_seconds(compiled_fn, *args))
    speed_up = statistics.median(eager) / statistics.median(compiled)
    verdict = "about the same"
    if speed_up > 1.1:
        verdict = "compiled is faster"
    elif speed_up < 1 / 1.1:
        verdict = "compiled is slower"
    print(
        f"{label}\n  eager {readable(statistics.median(eager))}, "
        f"compiled {readable(statistics.median(compiled))}, "
        f"speed-up {speed_up:.1f}x: {verdict}"
    )
    return speed_up


speed_up = compare("sin^2 + cos^2, 10^6 values", f, compiled_f, x)
assert speed_up > 1  # one pass over memory instead of five

# %%
# Inductor *fused* the five operations into one loop that reads ``x`` once,
# where eager PyTorch makes five passes over memory. Fusing chains of
# element-wise operations on large tensors is where compiling gains most.
#
# The second compile is cheap: the cache
# --------------------------------------
#
# ``torch._dynamo.reset()`` forgets every compiled function in this process, as
# if the program had started again. Compiling ``f`` once more finds the code
# in Inductor's *FX graph cache* on disk, keyed by the graph, the inputs'
# shapes and dtypes, the PyTorch version and the settings.

torch._dynamo.reset()
compiled_again = torch.compile(f)
start = time.perf_counter()
compiled_again(x)
print(f"first call after reset: {time.perf_counter() - start:7.3f} s")
print(cache_counts())

# %%
# The cache lives in ``torchinductor_<user name>`` in the temporary directory,
# or where ``TORCHINDUCTOR_CACHE_DIR`` says, and outlives the process: run
# this page twice and the first call's miss becomes a hit.
#
# A model
# -------
#
# ``torch.compile(model)`` compiles a model's ``forward`` the same way, in a
# wrapper that shares the model's parameters. Its ``state_dict()`` adds an
# ``_orig_mod.`` prefix to each name, so save the original model's. We compare
# the two on a batch of 512 inputs, under ``torch.inference_mode()``.

from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)).eval()
compiled_model = torch.compile(model)
print(f"model.state_dict():          {next(iter(model.state_dict()))}, ...")
print(
    f"compiled_model.state_dict(): {next(iter(compiled_model.state_dict()))}"
)

batch = torch.randn(512, 64)
with torch.inference_mode():
    # the first call compiles
    torch.testing.assert_close(compiled_model(batch), model(batch))
    compare("MLP, batch of 512", model, compiled_model, batch)

# %%
# This model has little to gain. ``TORCH_LOGS=output_code`` prints the code
# Inductor generates: for the two ``Linear`` layers it calls ``addmm``, the
# matrix routine eager PyTorch calls too, and only the ReLU becomes generated
# code, which saves one pass over memory. In exchange each call first checks
# its *guards* (the next section): some microseconds. So the verdict above
# can go either way, and on a busy machine the noise between two runs is
# larger than the difference: trust one only once it survives a rerun.
# Compiling pays off on long chains of cheaper operations between the matrix
# products: normalisations, activations, the arithmetic of attention.
#
# When compiling does not help
# ----------------------------
#
# **Tiny operations and small batches.** A compiled call first checks its
# *guards*, the conditions under which the compiled code is valid (same dtypes,
# shapes, devices, number of threads...), then calls that code from Python:
# that costs more than one eager operation on ten values.


def relu(x):
    return torch.relu(x)


tiny = torch.randn(10)
compiled_relu = torch.compile(relu)
compiled_relu(tiny)  # compiles
speed_up = compare("relu, 10 values", relu, compiled_relu, tiny)
assert speed_up < 1  # the guards and the call cost more than the work

# %%
# **Changing shapes.** A second shape makes Dynamo compile again, now with the
# size as a symbol, so that one graph serves every size from then on. To
# watch it without waiting for the C++ compiler, we give ``torch.compile`` a
# backend of our own that counts the graphs it receives and runs them eagerly.

graphs = []


def counting_backend(graph_module, example_inputs):
    graphs.append(graph_module)
    return graph_module.forward  # run the captured graph as it is


torch._dynamo.reset()
counted_f = torch.compile(f, backend=counting_backend)
for size in (8, 16, 32, 64):
    counted_f(torch.randn(size))
    print(f"size {size:2}: {len(graphs)} graph(s) compiled")
print(graphs[-1].code.strip())

# %%
# Two compilations, then none: the last graph takes the size as an extra input,
# a ``SymInt``. A new dtype recompiles too, or a tensor that now requires
# grad, or a model switched from ``train()`` to ``eval()``: code whose inputs
# keep changing can lose more than it gains. Pass ``dynamic=True`` to start
# with symbolic sizes, or pad the inputs to a few fixed sizes.
#
# Graph breaks
# ------------
#
# When Dynamo meets what it cannot trace, such as a Python ``if`` on a
# tensor's value or a call to ``print``, it *breaks* the graph: it compiles
# the part before, runs the Python part eagerly, and starts a new graph after,
# which splits what could have been fused. ``torch._dynamo.explain`` reports
# the breaks without generating code; ``torch.compile(fn, fullgraph=True)``
# turns a break into an error.


def relu_or_negate(x):
    if x.sum() > 0:  # a Python `if` on a tensor's value
        return torch.relu(x)
    return -x


explanation = torch._dynamo.explain(relu_or_negate)(torch.randn(8))
graph_count, breaks = explanation.graph_count, explanation.graph_break_count
print(f"graphs: {graph_count}, graph breaks: {breaks}")
print(f"reason: {explanation.break_reasons[0].reason.splitlines()[0]}")

# %%
# Takeaways
# ---------
#
# * The first call compiles (seconds); later calls run the generated code.
# * Compare after warm-up, by medians, alternating; check with
#   ``torch.testing.assert_close``.
# * The FX graph cache on disk makes the next compile of a graph cheap.
# * Compiling gains most on chains of element-wise operations on large tensors.
# * New shapes recompile; ``torch._dynamo.explain`` finds graph breaks.
#
# Exercises
# ---------
#
# Exercise 1 ★: predict the graphs of a function that prints
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Without running it, predict the two numbers this prints; then compile
# ``chatty`` with ``fullgraph=True`` (and the counting backend, to skip the
# C++ compiler), call it, and read what happens.
#
# .. code-block:: python
#
#    def chatty(x):
#        y = torch.sin(x)
#        print("between the two operations")
#        return torch.cos(y)
#
#
#    explanation = torch._dynamo.explain(chatty)(torch.randn(4))
#    print(explanation.graph_count, explanation.graph_break_count)
#
# .. solution::
#
#    Solution
#
#    ``print`` breaks the graph: one graph before it, one after, one break.
#    With ``fullgraph=True`` the break is an error, raised at the first call.


def chatty(x):
    y = torch.sin(x)
    print("between the two operations")
    return torch.cos(y)


explanation = torch._dynamo.explain(chatty)(torch.randn(4))
print(explanation.graph_count, explanation.graph_break_count)
assert (explanation.graph_count, explanation.graph_break_count) == (2, 1)
whole = torch.compile(chatty, fullgraph=True, backend=counting_backend)
try:
    whole(torch.randn(4))
    raised = None
except RuntimeError as err:
    raised = type(err).__name__
    print(f"{raised}: {str(err).splitlines()[0]}")
assert raised == "Unsupported"

# %%
# Exercise 2 ★★: remove a graph break
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Rewrite ``relu_or_negate`` from the lesson so that it compiles into one
# graph without a break, and check that it returns the same values for a sum
# above and below zero.
#
# .. solution::
#
#    Solution
#
#    Compute both sides and choose with ``torch.where``: the choice becomes a
#    tensor operation, and there is no Python ``if`` left to break the graph.


def relu_or_negate_without_break(x):
    return torch.where(x.sum() > 0, torch.relu(x), -x)


explanation = torch._dynamo.explain(relu_or_negate_without_break)(
    torch.randn(8)
)
graph_count, breaks = explanation.graph_count, explanation.graph_break_count
print(f"graphs: {graph_count}, graph breaks: {breaks}")
assert (graph_count, breaks) == (1, 0)
for sample in (torch.rand(8), -torch.rand(8)):
    same = relu_or_negate_without_break(sample)
    torch.testing.assert_close(same, relu_or_negate(sample))

# %%
# Exercise 3 ★★: predict the recompilations
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# With the counting backend of the lesson, predict how many graphs exist after
# each of these four calls of the same compiled function, all with eight
# values: float32, float64, float32 again, then float32 that requires grad.
#
# .. solution::
#
#    Solution
#
#    The dtype and the requirement of a gradient are guarded, like the shape:
#    float64 compiles a second graph, the float32 graph serves again, and a
#    tensor that requires grad makes a third.

graphs.clear()
torch._dynamo.reset()
counted_square = torch.compile(lambda t: t**2, backend=counting_backend)
eight = torch.randn(8)
counts = []
for sample in (eight, eight.double(), eight, eight.clone().requires_grad_()):
    counted_square(sample)
    counts.append(len(graphs))
print(f"graphs after each call: {counts}")
assert counts == [1, 2, 2, 3]
torch.set_num_threads(threads_before)  # leave torch as we found it

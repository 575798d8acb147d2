/*
 * trainbar.core._speedups: the compiled twin of trainbar.core.counter.PyCounter, built when a C compiler
 * is at hand and skipped (the pure-Python twin is used) when it is not.
 *
 * Why it exists: `bar.update(1)` runs once per training step. A Python method that takes
 * `**metrics` costs about 100 ns a call on CPython 3.11, because the interpreter cannot
 * specialise a call to it and builds an empty dict every time. Here the common call (one
 * number, or none, and no metrics) is one C-level add. Every other call (metrics, `n=` by
 * keyword, an `n` that does not add) goes to the Python implementation, so what update means,
 * and the errors it raises, are written once, in counter.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <limits.h>
#include <math.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    PyObject *n; /* the count; Python code reads and writes it as `_n` */
} Counter;

static PyObject *one;           /* update() with no argument adds 1 */
static PyObject *fallback_name; /* "_update_fallback": the Python method for all other calls */

/* Call self._update_fallback(*args, **kwargs) with the arguments exactly as received. */
static PyObject *
call_fallback(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    Py_ssize_t count = 1 + nargs + nkw;
    PyObject *small[16]; /* a metric or two is the usual case: no allocation for it */
    PyObject **stack = count <= 16 ? small : PyMem_Malloc(count * sizeof(PyObject *));
    if (stack == NULL) {
        return PyErr_NoMemory();
    }
    stack[0] = self;
    memcpy(stack + 1, args, (nargs + nkw) * sizeof(PyObject *));
    PyObject *result = PyObject_VectorcallMethod(fallback_name, stack, 1 + nargs, kwnames);
    if (stack != small) {
        PyMem_Free(stack);
    }
    return result;
}

/* A step the fast path takes as it is: an exact int below 2**63 in size, or an exact finite
 * float. Anything else (numpy integers, Decimal, complex, a huge int) is checked in Python. */
static int
is_plain_step(PyObject *n)
{
    if (PyLong_CheckExact(n)) {
        int overflow = 0;
        long long value = PyLong_AsLongLongAndOverflow(n, &overflow);
        if (value == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        return overflow == 0 && value != LLONG_MIN;
    }
    return PyFloat_CheckExact(n) && isfinite(PyFloat_AS_DOUBLE(n));
}

static PyObject *
Counter_update(Counter *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (kwnames == NULL && nargs <= 1 && self->n != NULL && (nargs == 0 || is_plain_step(args[0]))) {
        /* Held for the add: the count may be freed by whatever runs during it. */
        PyObject *count = self->n;
        Py_INCREF(count);
        PyObject *total = PyNumber_InPlaceAdd(count, nargs == 1 ? args[0] : one);
        Py_DECREF(count);
        if (total == NULL) {
            return NULL; /* as `self._n += n` would */
        }
        Py_SETREF(self->n, total);
        Py_RETURN_NONE;
    }
    return call_fallback((PyObject *)self, args, nargs, kwnames);
}

static int
Counter_traverse(Counter *self, visitproc visit, void *arg)
{
    Py_VISIT(self->n);
    return 0;
}

static int
Counter_clear(Counter *self)
{
    Py_CLEAR(self->n);
    return 0;
}

static void
Counter_dealloc(Counter *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->n);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Counter_methods[] = {
    {"update", (PyCFunction)(void (*)(void))Counter_update, METH_FASTCALL | METH_KEYWORDS,
     "update($self, n=1, **metrics)\n--\n\n"
     "Count ``n`` more items; keyword arguments are metrics, kept by reference."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Counter_members[] = {
    {"_n", T_OBJECT_EX, offsetof(Counter, n), 0, "the count"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject CounterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "trainbar.core._speedups.Counter",
    .tp_doc = "The per-step part of a bar: the count, and update() that adds to it.",
    .tp_basicsize = sizeof(Counter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)Counter_dealloc,
    .tp_traverse = (traverseproc)Counter_traverse,
    .tp_clear = (inquiry)Counter_clear,
    .tp_methods = Counter_methods,
    .tp_members = Counter_members,
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "trainbar.core._speedups",
    .m_doc = "The compiled per-step hot path of trainbar (see counter.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    one = PyLong_FromLong(1);
    fallback_name = PyUnicode_InternFromString("_update_fallback");
    if (one == NULL || fallback_name == NULL || PyType_Ready(&CounterType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&CounterType);
    if (PyModule_AddObject(module, "Counter", (PyObject *)&CounterType) < 0) {
        Py_DECREF(&CounterType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}

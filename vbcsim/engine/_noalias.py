"""Loads and stores in their own LLVM alias scopes: table gathers that LLVM's loop vectoriser accepts.

The table's gathers in a loop that stores: LLVM's loop vectoriser cannot bound an index read
from data (``tab[j]``), so it would need a run-time check that the stores do not overwrite the
table, and it gives up.  Scoped no-alias metadata says so instead: the table's loads carry
``!alias.scope`` of a scope of their own, the loop's other accesses ``!noalias`` of it (true:
the table is never written while a kernel runs).  The loop's other loads carry it too, or LLVM
puts them, the table and the stores in one alias set, which again needs the check.  Used by the
vectorised multi-year kernel (:mod:`vbcsim.engine._years_vector`); plain indexing when numba's
JIT is disabled.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["table_load", "load_beside_table", "store_beside_table"]

if numba.config.DISABLE_JIT:  # the kernels run as plain Python (the CI kernel job)

    def table_load(tab, j):
        return tab[j]

    def load_beside_table(arr, i):
        return arr[i]

    def store_beside_table(arr, i, v):
        arr[i] = v

else:

    def _table_scope(module):
        domain = module.add_metadata([ir.MetaDataString(module, "vbcsim.years_vector.domain")])
        scope = module.add_metadata([ir.MetaDataString(module, "vbcsim.years_vector.table"), domain])
        return module.add_metadata([scope])

    def _element_pointer(context, builder, aryty, ary, index, indexty):
        data = context.make_array(aryty)(context, builder, ary).data
        return builder.gep(data, [context.cast(builder, index, indexty, types.intp)], inbounds=True)

    def _scoped_load(kind):
        """The codegen of ``arr[i]``, a load carrying ``kind`` metadata of the table's scope."""

        def codegen(context, builder, signature, args):
            ptr = _element_pointer(context, builder, signature.args[0], args[0], args[1], signature.args[1])
            value = builder.load(ptr)
            value.set_metadata(kind, _table_scope(builder.module))
            return value

        return codegen

    @intrinsic
    def table_load(typingctx, tab, j):
        """``tab[j]`` (0 ≤ j < tab.size, C-contiguous), a load in the table's alias scope."""
        return tab.dtype(tab, j), _scoped_load("alias.scope")

    @intrinsic
    def load_beside_table(typingctx, arr, i):
        """``arr[i]`` (0 ≤ i < arr.size, C-contiguous), a load that does not alias the table."""
        return arr.dtype(arr, i), _scoped_load("noalias")

    @intrinsic
    def store_beside_table(typingctx, arr, i, v):
        """``arr[i] = v`` (0 ≤ i < arr.size, C-contiguous), a store that does not alias the table."""
        sig = types.void(arr, i, v)

        def codegen(context, builder, signature, args):
            ptr = _element_pointer(context, builder, signature.args[0], args[0], args[1], signature.args[1])
            value = context.cast(builder, args[2], signature.args[2], signature.args[0].dtype)
            store = builder.store(value, ptr)
            store.set_metadata("noalias", _table_scope(builder.module))
            return context.get_dummy_value()

        return sig, codegen

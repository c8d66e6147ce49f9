"""SageMaker's RecordIO-protobuf written independently of the runtime's reader: the ``aialgs.data.Record``
messages are built by Google's protobuf library from a descriptor of SageMaker's record.proto, and framed as
the SageMaker SDK's RecordSerializer frames them (magic, length, record, padding to four bytes)."""

from __future__ import annotations

import struct
from functools import cache

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

MAGIC = 0xCED7230A
F = descriptor_pb2.FieldDescriptorProto


@cache
def record_class():
    """aialgs.data.Record (with its Value and tensor messages) from a descriptor built here."""
    file = descriptor_pb2.FileDescriptorProto(name="mcc_test_record.proto", package="aialgs.data", syntax="proto2")

    def message(name, *fields):
        proto = file.message_type.add(name=name)
        for number, field_name, kind, label, type_name, packed in fields:
            field = proto.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name
            if packed:
                field.options.packed = True
        return proto

    repeated, optional = F.LABEL_REPEATED, F.LABEL_OPTIONAL
    for name, kind in (
        ("Float32Tensor", F.TYPE_FLOAT),
        ("Float64Tensor", F.TYPE_DOUBLE),
        ("Int32Tensor", F.TYPE_INT32),
    ):
        message(name, (1, "values", kind, repeated, None, True), (2, "keys", F.TYPE_UINT64, repeated, None, True),
                (3, "shape", F.TYPE_UINT64, repeated, None, True))  # fmt: skip
    value = message("Value", (2, "float32_tensor", F.TYPE_MESSAGE, optional, ".aialgs.data.Float32Tensor", False),
                    (3, "float64_tensor", F.TYPE_MESSAGE, optional, ".aialgs.data.Float64Tensor", False),
                    (7, "int32_tensor", F.TYPE_MESSAGE, optional, ".aialgs.data.Int32Tensor", False))  # fmt: skip
    value.oneof_decl.add(name="value")
    for field in value.field:
        field.oneof_index = 0
    record = file.message_type.add(name="Record")
    for number, name in ((1, "features"), (2, "label")):
        entry = record.nested_type.add(name=f"{name.title()}Entry")
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=optional)
        entry.field.add(name="value", number=2, type=F.TYPE_MESSAGE, label=optional, type_name=".aialgs.data.Value")
        record.field.add(name=name, number=number, type=F.TYPE_MESSAGE, label=repeated,
                         type_name=f".aialgs.data.Record.{name.title()}Entry")  # fmt: skip
    record.field.add(name="uid", number=3, type=F.TYPE_STRING, label=optional)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("aialgs.data.Record"))


def dense_records(rows: np.ndarray, tensor: str = "float32_tensor") -> bytes:
    records = []
    for row in rows:
        record = record_class()()
        getattr(record.features["values"], tensor).values.extend(row.tolist())
        record.label["values"].float32_tensor.values.append(0.0)
        records.append(record.SerializeToString())
    return frame(records)


def sparse_records(rows: np.ndarray) -> bytes:
    """Rows with NaN as left-out entries: keys and shape (the row's width) for the rest."""
    records = []
    for row in rows:
        record = record_class()()
        tensor = record.features["values"].float32_tensor
        present = np.flatnonzero(~np.isnan(row))
        tensor.values.extend(row[present].tolist())
        tensor.keys.extend(present.tolist())
        tensor.shape.append(len(row))
        records.append(record.SerializeToString())
    return frame(records)


def frame(records: list[bytes]) -> bytes:
    out = bytearray()
    for data in records:
        out += struct.pack("<II", MAGIC, len(data)) + data + b"\x00" * (-len(data) % 4)
    return bytes(out)

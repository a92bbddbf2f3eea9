"""Read the pixels of a PNG (8-bit RGB or RGBA, not interlaced: what Chromium's screenshots are), for tests that
check what a page drew. Plain Python: keep the images small (one element's screenshot)."""
import struct
import zlib


def pixels(data):
    """[row][column] -> (red, green, blue) of the PNG bytes data."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunk = data[position + 8:position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour in (2, 6) and not interlace, (depth, colour, interlace)
        elif kind == b"IDAT":
            idat += chunk
    n = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * n, [], bytearray(width * n)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):  # undo the row's filter (PNG specification, section 9)
            a = line[i - n] if i >= n else 0
            b, c = previous[i], previous[i - n] if i >= n else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                nearest = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c
                line[i] = (line[i] + nearest) & 255
        rows.append([tuple(line[x * n:x * n + 3]) for x in range(width)])
        previous = line
    return rows

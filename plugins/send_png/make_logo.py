#!/usr/bin/env python3
"""Draws ferry.png, the image the send_png plugin serves by default.

A round badge: a ferry boat under a sun, on layered waves. Every shape is a signed
distance function in unit coordinates (0..1, y down), so edges are anti-aliased
analytically; the PNG is written with zlib + struct only (no third-party modules).

Usage: python3 make_logo.py [OUTPUT.png] [SIZE]     (defaults: ferry.png beside this script, 256)
"""

import math
import os
import struct
import sys
import zlib

# Colours (sRGB).
NAVY = (20, 45, 80)
SKY_TOP = (120, 196, 245)
SKY_BOTTOM = (214, 238, 252)
SUN = (255, 196, 61)
SUN_HALO = (255, 232, 160)
CLOUD = (255, 255, 255)
SEA_BACK = (88, 170, 222)
SEA_MID = (33, 128, 196)
SEA_FRONT = (18, 88, 152)
FOAM = (225, 244, 255)
HULL = (28, 52, 92)
STRIPE = (230, 57, 70)
CABIN = (250, 250, 247)
CABIN_SHADE = (222, 228, 234)
WINDOW = (52, 110, 160)
FUNNEL = (230, 57, 70)
FUNNEL_TOP = (28, 52, 92)


# --- signed distance functions (negative inside) -------------------------------------

def sd_circle(x, y, cx, cy, r):
    return math.hypot(x - cx, y - cy) - r


def sd_round_box(x, y, x0, y0, x1, y1, r):
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = (x1 - x0) / 2 - r, (y1 - y0) / 2 - r
    qx, qy = abs(x - cx) - hx, abs(y - cy) - hy
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - r


def sd_convex(x, y, points):
    """Distance to a convex polygon given clockwise in screen space (y down); exact inside,
    a slight under-estimate near outside corners (fine for a one-pixel anti-aliasing ramp)."""
    d = -1e9
    n = len(points)
    for i in range(n):
        ax, ay = points[i]
        bx, by = points[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        length = math.hypot(ex, ey)
        # Outward normal of a clockwise polygon with y pointing down.
        nx, ny = ey / length, -ex / length
        d = max(d, (x - ax) * nx + (y - ay) * ny)
    return d


def sd_below_wave(x, y, base, amplitude, waves, phase):
    """Inside = below the curve y = base + amplitude * sin(...)."""
    k = 2 * math.pi * waves
    f = base + amplitude * math.sin(k * x + phase)
    slope = amplitude * k * math.cos(k * x + phase)
    return (f - y) / math.sqrt(1 + slope * slope)


# --- the picture -----------------------------------------------------------------------

def lerp(a, b, t):
    return tuple(a[i] + (b[i] - a[i]) * t for i in range(3))


HULL_SHAPE = [(0.17, 0.555), (0.86, 0.555), (0.77, 0.70), (0.25, 0.70)]
CABIN_WINDOWS = [0.335 + i * 0.062 for i in range(6)]
BRIDGE_WINDOWS = [0.4165 + i * 0.062 for i in range(3)]


def layers(x, y):
    """Yields (signed distance, colour) from back to front."""
    yield -1.0, lerp(SKY_TOP, SKY_BOTTOM, min(max((y - 0.1) / 0.55, 0.0), 1.0))
    yield sd_circle(x, y, 0.73, 0.30, 0.135), SUN_HALO
    yield sd_circle(x, y, 0.73, 0.30, 0.095), SUN
    # A small cloud on the left.
    cloud = min(sd_circle(x, y, 0.24, 0.30, 0.055), sd_circle(x, y, 0.31, 0.27, 0.07),
                sd_circle(x, y, 0.38, 0.305, 0.05), sd_round_box(x, y, 0.20, 0.29, 0.42, 0.355, 0.032))
    yield cloud, CLOUD
    # Sea behind the boat.
    yield sd_below_wave(x, y, 0.645, 0.010, 2.0, 0.6), SEA_BACK
    # The ferry: funnel, bridge, main cabin, hull.
    funnel = sd_round_box(x, y, 0.455, 0.215, 0.545, 0.40, 0.018)
    yield funnel, FUNNEL
    yield max(funnel, y - 0.255), FUNNEL_TOP
    yield max(funnel, abs(y - 0.2685) - 0.0075), CABIN
    yield sd_round_box(x, y, 0.36, 0.345, 0.635, 0.455, 0.022), CABIN
    for wx in BRIDGE_WINDOWS:
        yield sd_round_box(x, y, wx, 0.372, wx + 0.038, 0.418, 0.01), WINDOW
    yield sd_round_box(x, y, 0.27, 0.44, 0.745, 0.575, 0.025), CABIN
    yield max(sd_round_box(x, y, 0.27, 0.44, 0.745, 0.575, 0.025), 0.54 - y), CABIN_SHADE
    for wx in CABIN_WINDOWS:
        yield sd_circle(x, y, wx + 0.02, 0.495, 0.019), WINDOW
    yield sd_convex(x, y, HULL_SHAPE), HULL
    yield max(sd_convex(x, y, HULL_SHAPE), abs(y - 0.592) - 0.014), STRIPE
    # Waves in front, with a line of foam on the first one.
    yield abs(sd_below_wave(x, y, 0.683, 0.016, 2.5, 1.9)) - 0.009, FOAM
    yield sd_below_wave(x, y, 0.69, 0.016, 2.5, 1.9), SEA_MID
    yield sd_below_wave(x, y, 0.775, 0.018, 2.0, 4.0), SEA_FRONT
    yield abs(sd_below_wave(x, y, 0.77, 0.018, 2.0, 4.0)) - 0.006, SEA_MID


BADGE_RADIUS = 0.47
RING_WIDTH = 0.035


def pixel(x, y, scale):
    """RGBA bytes of the pixel whose centre is (x, y) in unit coordinates."""
    def cover(d):
        return min(max(0.5 - d * scale, 0.0), 1.0)

    r = g = b = 0.0
    for d, colour in layers(x, y):
        a = cover(d)
        if a > 0.0:
            r += (colour[0] - r) * a
            g += (colour[1] - g) * a
            b += (colour[2] - b) * a
    # The navy ring around the badge, then everything clipped to the badge's disc.
    ring = cover(abs(sd_circle(x, y, 0.5, 0.5, BADGE_RADIUS - RING_WIDTH / 2)) - RING_WIDTH / 2)
    r += (NAVY[0] - r) * ring
    g += (NAVY[1] - g) * ring
    b += (NAVY[2] - b) * ring
    alpha = cover(sd_circle(x, y, 0.5, 0.5, BADGE_RADIUS))
    return bytes((round(r), round(g), round(b), round(alpha * 255)))


# --- PNG writer ------------------------------------------------------------------------

def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp):
    """Chooses, per row, the PNG filter with the smallest sum of absolute values."""
    out = bytearray()
    previous = bytes(len(rows[0]))
    for row in rows:
        candidates = []
        for kind in range(5):
            f = bytearray(len(row))
            for i, value in enumerate(row):
                left = row[i - bpp] if i >= bpp else 0
                up = previous[i]
                up_left = previous[i - bpp] if i >= bpp else 0
                predictor = (0, left, up, (left + up) // 2, paeth(left, up, up_left))[kind]
                f[i] = (value - predictor) & 0xFF
            cost = sum(v if v < 128 else 256 - v for v in f)
            candidates.append((cost, kind, f))
        _, kind, f = min(candidates, key=lambda c: c[0])
        out.append(kind)
        out += f
        previous = row
    return bytes(out)


def write_png(path, size, rows):
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    data = zlib.compress(filter_rows(rows, 4), 9)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(png_chunk(b"IHDR", header))
        f.write(png_chunk(b"IDAT", data))
        f.write(png_chunk(b"IEND", b""))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "ferry.png")
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    rows = []
    for j in range(size):
        y = (j + 0.5) / size
        rows.append(b"".join(pixel((i + 0.5) / size, y, size) for i in range(size)))
    write_png(path, size, rows)
    print(f"wrote {path} ({size}x{size}, {os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()

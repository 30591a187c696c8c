"""Models in and out: dg.save/dg.load, safetensors, ONNX export, deltagrad export."""

import StreamSim

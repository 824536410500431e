"""gleamnb on a Dask cluster: the master (a scheduler plugin), the agents (worker plugins that
host executor subprocesses) and the Dask runner that drives a run through them.

The Dask runner is a driver of the same scheduling core as the local runner
(:mod:`gleamnb.runners.scheduling`); it lives here, above :mod:`gleamnb.runners`, because it
installs the plugins on a cluster that lacks them.
"""

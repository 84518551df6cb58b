"""Support code shared by the tests and by `bench/`: the app under test made once per process
(`apps`), the one gunicorn launcher (`servers`), the one claim set of a key (`claims`) and the
switch between the default and the full run (`runs`)."""

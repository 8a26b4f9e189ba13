// The mixin with the caller's _config overrides on top: what every entry
// point in lib/ renders. `config` is an object of _config keys.
function(config) (import '../mixin.libsonnet') + { _config+:: config }

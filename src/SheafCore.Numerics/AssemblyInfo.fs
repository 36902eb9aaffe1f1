namespace SheafCore.Numerics

open System.Runtime.CompilerServices

// The F# core is internal; only the façade, the tool, the tests and the benchmarks see it.
[<assembly: InternalsVisibleTo("SheafCore")>]
[<assembly: InternalsVisibleTo("SheafCore.Cli")>]
[<assembly: InternalsVisibleTo("SheafCore.Tests")>]
[<assembly: InternalsVisibleTo("SheafCore.Properties")>]
[<assembly: InternalsVisibleTo("SheafCore.Benchmarks")>]
do ()

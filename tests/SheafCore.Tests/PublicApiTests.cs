using System.Reflection;

namespace SheafCore.Tests;

/// <summary>No FSharp.Core type may appear in any public signature, and the F# core exposes no public types.</summary>
public sealed class PublicApiTests
{
    private static IEnumerable<Type> Mentioned(Type t)
    {
        yield return t;
        if (t.HasElementType) foreach (var e in Mentioned(t.GetElementType()!)) yield return e;
        if (t.IsGenericType) foreach (var a in t.GetGenericArguments().SelectMany(Mentioned)) yield return a;
    }

    private static IEnumerable<(string Member, Type Type)> PublicSignatureTypes(Assembly assembly)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in assembly.GetExportedTypes())
        {
            if (type.BaseType is { } b) yield return (type.Name + " : base", b);
            foreach (var i in type.GetInterfaces()) yield return (type.Name + " : interface", i);
            foreach (var m in type.GetMethods(flags))
            {
                yield return ($"{type.Name}.{m.Name} returns", m.ReturnType);
                foreach (var p in m.GetParameters()) yield return ($"{type.Name}.{m.Name}({p.Name})", p.ParameterType);
            }
            foreach (var c in type.GetConstructors(flags))
                foreach (var p in c.GetParameters()) yield return ($"{type.Name}..ctor({p.Name})", p.ParameterType);
            foreach (var p in type.GetProperties(flags)) yield return ($"{type.Name}.{p.Name}", p.PropertyType);
            foreach (var f in type.GetFields(flags)) yield return ($"{type.Name}.{f.Name}", f.FieldType);
        }
    }

    [Fact]
    public void Facade_HasNoFSharpCoreTypesInPublicSignatures()
    {
        var leaks = PublicSignatureTypes(typeof(NeuralNetwork).Assembly)
            .Concat(PublicSignatureTypes(typeof(Cli.CliApp).Assembly))
            .Concat(PublicSignatureTypes(typeof(Plotting.Plots).Assembly))
            .Where(x => Mentioned(x.Type).Any(t => t.Assembly.GetName().Name == "FSharp.Core"))
            .Select(x => $"{x.Member}: {x.Type}")
            .ToList();
        Assert.Empty(leaks);
    }

    [Fact]
    public void FacadeSignatures_AreActuallyInspected()
    {
        // Guards the test above against vacuity: it must see the façade's public members.
        var members = PublicSignatureTypes(typeof(NeuralNetwork).Assembly).Select(x => x.Member).ToList();
        Assert.Contains(members, m => m.StartsWith("NetworkSheaf.HarmonicExtension", StringComparison.Ordinal));
    }

    [Fact]
    public void NumericsAssembly_ExportsNoTypes()
    {
        // Load it through the façade's reference: whether it is already loaded depends on which tests ran first.
        var numerics = Assembly.Load(typeof(NeuralNetwork).Assembly.GetReferencedAssemblies().Single(a => a.Name == "SheafCore.Numerics"));
        Assert.Empty(numerics.GetExportedTypes());
    }
}

namespace SheafCore;

/// <summary>The output activation φ of a network: applied to the last pre-activation z<sup>(k+1)</sup>.</summary>
public enum OutputActivation
{
    /// <summary>φ(z) = z (regression).</summary>
    Identity = 0,

    /// <summary>φ(z) = 1 / (1 + e<sup>−z</sup>) element-wise (binary classification).</summary>
    Sigmoid = 1,

    /// <summary>φ(z)<sub>c</sub> = e<sup>z<sub>c</sub></sup> / Σ<sub>d</sub> e<sup>z<sub>d</sub></sup> (multi-class classification).</summary>
    Softmax = 2,
}
